"""Typed, validated settings, read from a TOML file (see config.example.toml for every key).

A wrong key or value raises ConfigError naming its path, e.g.
`polling.interval: must be at least min_interval (15), got 5`. The Discord token never comes from
the file: it is read from the environment variable `discord.token_env` names and kept in a Secret
whose repr and str hide it. The database is an SQLite file (`database.path`) unless a PostgreSQL
URL is given (`database.url`, or the environment variable BULLETIN_DATABASE_URL, which overrides
both); a password in that URL is never shown.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.config_database import DatabaseConfig as DatabaseConfig  # re-exported: a table of Config
from bot.config_database import parse_database, with_database_url
from bot.config_values import Secret
from bot.config_values import fail as _fail
from bot.config_values import join_key as _join
from bot.config_values import known_keys as _known_keys
from bot.config_values import show as _show
from bot.config_web import WebConfig as WebConfig  # re-exported: [web] is a table of Config
from bot.config_web import parse_listen, parse_web, refuse_unprotected
from bot.errors import ConfigError
from bot.model import SourceKind
from bot.sources.extract.selectors import Selectors
from bot.sources.limits import FetchLimits

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("config.toml")
SELECTOR_KEYS = ("entry", "title", "body", "time", "key_points")


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    token_env: str = "DISCORD_TOKEN"  # noqa: S105 - a variable's name, not a secret
    api_base: str | None = None  # None: discord.py's own (https://discord.com/api/v10)
    gateway_url: str | None = None  # None: whatever Discord's /gateway/bot answers
    dev_guild: int | None = None  # where slash commands are synced during development
    # Slash commands one member may run in one server per minute (a burst of this many, then
    # one more every 60/N seconds); 0 turns the limit off.
    commands_per_minute: int = 10
    # Gateway shards of the whole fleet (every process the same); None: Discord's recommendation.
    shard_count: int | None = None
    # Read from the environment at load time; None means console mode.
    token: Secret | None = field(default=None, repr=False, compare=False)


# The fetcher's limits keep their defaults in one place: bot/sources/limits.py.
_FETCH = FetchLimits()


@dataclass(frozen=True, slots=True)
class PollingConfig:
    interval: int = 60  # seconds between polls of a live story
    min_interval: int = 15  # no story may be polled more often than this
    timeout: float = _FETCH.timeout  # seconds for a whole fetch, redirects and body included
    max_bytes: int = _FETCH.max_bytes  # body size cap, after decompression
    max_redirects: int = _FETCH.max_redirects
    concurrency: int = _FETCH.concurrency  # fetches in flight at once, all hosts together
    per_host: int = _FETCH.per_host  # fetches in flight at once to one host
    per_host_rate: float = 0.0  # fetches started a second to one host at most (0: no limit)
    pause_after_failures: int = 10  # consecutive failures before a source is paused
    retention_days: int = 30  # how long seen entries are kept after they leave a source
    lease: int = 30  # seconds a process of a fleet holds a due source (renewed while it polls)
    # False, True, or "host:port" strings allowed although their address is not public.
    allow_private_addresses: bool | tuple[str, ...] = _FETCH.allow_private_addresses

    def fetch_limits(self) -> FetchLimits:
        """The fetcher's limits (`Fetcher`, `open_session`): the settings of the same names."""
        return FetchLimits(**{f.name: getattr(self, f.name) for f in fields(FetchLimits)})


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    rate: float = 45.0  # Discord requests per second, all channels together


@dataclass(frozen=True, slots=True)
class SourceConfig:
    url: str
    kind: SourceKind | None = None  # None: detected from what the source serves
    selectors: Mapping[str, str] = field(default_factory=dict)
    retention_days: int | None = None  # None: polling.retention_days


@dataclass(frozen=True, slots=True)
class StoryConfig:
    name: str
    sources: tuple[SourceConfig, ...]
    interval: int  # seconds; polling.interval unless the story sets its own


@dataclass(frozen=True, slots=True)
class Config:
    discord: DiscordConfig = DiscordConfig()
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    polling: PollingConfig = PollingConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    web: WebConfig = field(default_factory=WebConfig)
    stories: tuple[StoryConfig, ...] = ()
    # The file these settings came from; None when they are the built-in defaults.
    path: Path | None = field(default=None, compare=False)

    def describe(self) -> str:
        """One line for the log: where the settings came from."""
        stories = f"{len(self.stories)} stor{'y' if len(self.stories) == 1 else 'ies'}"
        if self.path is None:
            return f"no config file ({DEFAULT_PATH} not found): built-in defaults, {stories}"
        return f"config from {self.path}: {stories}"


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read settings from PATH; None means ./config.toml if present, else built-in defaults.

    ENVIRON (default os.environ) is where the Discord token is looked up.
    """
    env = os.environ if environ is None else environ
    if path is None:
        if not DEFAULT_PATH.is_file():
            config = Config()
            return _with_token(_with_database_url(config, env), env)
        path = DEFAULT_PATH
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))  # a byte-order mark (Notepad) is fine
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse_config(data, path=path)
    return _with_token(_with_database_url(config, env), env)


def _with_database_url(config: Config, environ: Mapping[str, str]) -> Config:
    return replace(config, database=with_database_url(config.database, environ))


def _with_token(config: Config, environ: Mapping[str, str]) -> Config:
    value = environ.get(config.discord.token_env, "").strip()
    token = Secret(value) if value else None
    web_value = environ.get(config.web.token_env, "").strip()
    web = replace(config.web, token=Secret(web_value) if web_value else None)
    return replace(config, discord=replace(config.discord, token=token), web=web)


def with_web_listen(config: Config, listen: str) -> Config:
    """CONFIG with `[web] listen` replaced (`bulletin run --web-listen`); "" turns it off."""
    return replace(config, web=replace(config.web, listen=parse_listen(listen, "--web-listen")))


def check_web(config: Config) -> None:
    """Refuse a web window beyond loopback without its token (one line naming the variable)."""
    refuse_unprotected(config.web)


# --- validation ------------------------------------------------------------------------------


def parse_config(data: Mapping[str, Any], path: Path | None = None) -> Config:
    """Build a Config from parsed TOML, raising ConfigError naming the first bad key."""
    _known_keys(data, "", ("discord", "database", "polling", "delivery", "web", "stories"))
    discord = _parse_discord(_table(data, "discord"))
    database = parse_database(_table(data, "database"))
    polling = _parse_polling(_table(data, "polling"))
    delivery = _parse_delivery(_table(data, "delivery"))
    web = parse_web(_table(data, "web"))
    stories = _parse_stories(data.get("stories", []), polling)
    return Config(
        discord=discord,
        database=database,
        polling=polling,
        delivery=delivery,
        web=web,
        stories=stories,
        path=path,
    )


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _fail(key, f"must be a table ([{key}]), got {_show(value)}")
    return value


def _int(
    table: Mapping[str, Any],
    prefix: str,
    key: str,
    default: int,
    minimum: int,
    maximum: int,
) -> int:
    value = table.get(key, default)
    name = _join(prefix, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, f"must be a whole number, got {_show(value)}")
    if value < minimum:
        raise _fail(name, f"must be at least {minimum}, got {value}")
    # Upper bounds keep every value within what timers and SQLite can hold.
    if value > maximum:
        raise _fail(name, f"must be at most {maximum}, got {value}")
    return value


def _number(
    table: Mapping[str, Any], prefix: str, key: str, default: float, maximum: float
) -> float:
    value = table.get(key, default)
    name = _join(prefix, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, f"must be a number, got {_show(value)}")
    if not value > 0 or value == float("inf"):
        raise _fail(name, f"must be a positive number, got {value}")
    if value > maximum:
        raise _fail(name, f"must be at most {maximum:g}, got {value:g}")
    return float(value)


def _rate(table: Mapping[str, Any], prefix: str, key: str, maximum: float) -> float:
    """A rate a second, where 0 (the default) means no limit."""
    value = table.get(key, 0)
    name = _join(prefix, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, f"must be a number (fetches a second; 0: no limit), got {_show(value)}")
    if not 0 <= value < float("inf"):
        raise _fail(name, f"must be 0 (no limit) or a positive number, got {value:g}")
    if value > maximum:
        raise _fail(name, f"must be at most {maximum:g}, got {value:g}")
    return float(value)


def _http_url(value: object, name: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    if value is None:
        raise _fail(name, "missing: give the URL")
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, f"must be a URL, got {_show(value)}")
    text = value.strip()
    allowed = " or ".join(schemes)
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        raise _fail(name, f"must be an absolute {allowed} URL, got {_show(value)}") from None
    if parts.scheme.lower() not in schemes or not host or any(c.isspace() for c in host):
        raise _fail(name, f"must be an absolute {allowed} URL, got {_show(value)}")
    return text


def _parse_discord(table: Mapping[str, Any]) -> DiscordConfig:
    if "token" in table:
        raise _fail(
            "discord.token",
            "the token is read from the environment variable named by discord.token_env, "
            "never from the file: remove it from the file",
        )
    _known_keys(
        table,
        "discord",
        ("token_env", "api_base", "gateway_url", "dev_guild", "commands_per_minute", "shard_count"),
    )
    token_env = table.get("token_env", "DISCORD_TOKEN")
    if not isinstance(token_env, str) or not token_env.strip() or "=" in token_env:
        raise _fail(
            "discord.token_env", f"must be an environment variable name, got {_show(token_env)}"
        )
    api_base = table.get("api_base")
    if api_base is not None:
        api_base = _http_url(api_base, "discord.api_base")
    gateway_url = table.get("gateway_url")
    if gateway_url is not None:
        gateway_url = _http_url(gateway_url, "discord.gateway_url", ("ws", "wss"))
    dev_guild = table.get("dev_guild")
    if dev_guild is not None and (
        isinstance(dev_guild, bool)
        or not isinstance(dev_guild, int)
        or not 0 < dev_guild <= MAX_SNOWFLAKE
    ):
        raise _fail("discord.dev_guild", f"must be a server id (a number), got {_show(dev_guild)}")
    return DiscordConfig(
        token_env=token_env.strip(),
        api_base=api_base,
        gateway_url=gateway_url,
        dev_guild=dev_guild,
        commands_per_minute=_int(
            table,
            "discord",
            "commands_per_minute",
            DiscordConfig().commands_per_minute,
            0,
            MAX_COMMANDS_PER_MINUTE,
        ),
        shard_count=(
            _int(table, "discord", "shard_count", 1, 1, MAX_SHARD_COUNT)
            if "shard_count" in table
            else None
        ),
    )


MAX_INTERVAL = 24 * 60 * 60  # a day
MAX_TIMEOUT = 600.0
MAX_BYTES = 1024 * 1024 * 1024  # bodies are held in memory while parsed
MAX_REDIRECTS = 20  # what browsers follow
MAX_CONNECTIONS = 1000
MAX_FAILURES = 1000
MAX_RETENTION_DAYS = 3650
MAX_COMMANDS_PER_MINUTE = 1000
MAX_RATE = 1000.0
MAX_SNOWFLAKE = 2**63 - 1
MAX_SHARD_COUNT = 2**16  # well past the largest bots' (Discord wants a shard per ~1,000 servers)

_POLLING_KEYS = (
    "interval",
    "min_interval",
    "timeout",
    "max_bytes",
    "max_redirects",
    "concurrency",
    "per_host",
    "per_host_rate",
    "pause_after_failures",
    "retention_days",
    "lease",
    "allow_private_addresses",
)


def _parse_polling(table: Mapping[str, Any]) -> PollingConfig:
    _known_keys(table, "polling", _POLLING_KEYS)
    d = PollingConfig()
    min_interval = _int(table, "polling", "min_interval", d.min_interval, 1, MAX_INTERVAL)
    interval = _int(table, "polling", "interval", d.interval, 1, MAX_INTERVAL)
    if interval < min_interval:
        got = (
            f"got {interval}" if "interval" in table else f"its default {interval} is lower: set it"
        )
        raise _fail("polling.interval", f"must be at least min_interval ({min_interval}), {got}")
    return PollingConfig(
        interval=interval,
        min_interval=min_interval,
        timeout=_number(table, "polling", "timeout", d.timeout, MAX_TIMEOUT),
        max_bytes=_int(table, "polling", "max_bytes", d.max_bytes, 1024, MAX_BYTES),
        max_redirects=_int(table, "polling", "max_redirects", d.max_redirects, 0, MAX_REDIRECTS),
        concurrency=_int(table, "polling", "concurrency", d.concurrency, 1, MAX_CONNECTIONS),
        per_host=_int(table, "polling", "per_host", d.per_host, 1, MAX_CONNECTIONS),
        per_host_rate=_rate(table, "polling", "per_host_rate", MAX_CONNECTIONS),
        pause_after_failures=_int(
            table, "polling", "pause_after_failures", d.pause_after_failures, 1, MAX_FAILURES
        ),
        retention_days=_int(
            table, "polling", "retention_days", d.retention_days, 1, MAX_RETENTION_DAYS
        ),
        lease=_int(table, "polling", "lease", d.lease, 1, MAX_INTERVAL),
        allow_private_addresses=_parse_allow_private(table.get("allow_private_addresses", False)),
    )


def _parse_allow_private(value: object) -> bool | tuple[str, ...]:
    name = "polling.allow_private_addresses"
    if isinstance(value, bool):
        return value
    if not isinstance(value, list):
        raise _fail(name, f'must be true, false or a list of "host:port", got {_show(value)}')
    entries: list[str] = []
    for index, entry in enumerate(value):
        entries.append(_host_port(entry, f"{name}[{index}]"))
    return tuple(entries)


def _host_port(entry: object, name: str) -> str:
    problem = f'must be "host:port" (IPv6 as "[::1]:8080"), got {_show(entry)}'
    if not isinstance(entry, str):
        raise _fail(name, problem)
    host, sep, port_text = entry.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit() or not port_text.isascii():
        raise _fail(name, problem)
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise _fail(name, f"port must be 1-65535, got {port}")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise _fail(name, problem)
    if any(char.isspace() or char == "/" for char in host):
        raise _fail(name, problem)
    return f"{host.lower()}:{port}"


def _parse_delivery(table: Mapping[str, Any]) -> DeliveryConfig:
    _known_keys(table, "delivery", ("rate",))
    return DeliveryConfig(rate=_number(table, "delivery", "rate", DeliveryConfig().rate, MAX_RATE))


def _parse_stories(value: object, polling: PollingConfig) -> tuple[StoryConfig, ...]:
    if not isinstance(value, list):
        raise _fail("stories", f"must be a list of tables ([[stories]]), got {_show(value)}")
    stories: list[StoryConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        prefix = f"stories[{index}]"
        if not isinstance(item, dict):
            raise _fail(prefix, f"must be a table ([[stories]]), got {_show(item)}")
        _known_keys(item, prefix, ("name", "sources", "interval"))
        name = item.get("name")
        if name is None:
            raise _fail(f"{prefix}.name", "missing: every story needs a name")
        if not isinstance(name, str) or not name.strip():
            raise _fail(f"{prefix}.name", f"must be a non-empty string, got {_show(name)}")
        name = name.strip()
        if name.casefold() in seen:
            raise _fail(f"{prefix}.name", f"{name!r} is already the name of another story")
        seen.add(name.casefold())
        interval = _int(item, prefix, "interval", polling.interval, 1, MAX_INTERVAL)
        if interval < polling.min_interval:
            raise _fail(
                f"{prefix}.interval",
                f"must be at least polling.min_interval ({polling.min_interval}), got {interval}",
            )
        sources = item.get("sources")
        if sources is None:
            raise _fail(f"{prefix}.sources", "missing: list the story's URLs")
        if not isinstance(sources, list) or not sources:
            raise _fail(f"{prefix}.sources", f"must be a non-empty list, got {_show(sources)}")
        parsed = tuple(
            _parse_source(source, f"{prefix}.sources[{i}]") for i, source in enumerate(sources)
        )
        stories.append(StoryConfig(name=name, sources=parsed, interval=interval))
    return tuple(stories)


def _parse_source(value: object, prefix: str) -> SourceConfig:
    if isinstance(value, str):
        return SourceConfig(url=_http_url(value, prefix))
    if not isinstance(value, dict):
        raise _fail(
            prefix,
            f"must be a URL or a table {{url, kind, selectors, retention_days}}, "
            f"got {_show(value)}",
        )
    _known_keys(value, prefix, ("url", "kind", "selectors", "retention_days"))
    url = _http_url(value.get("url"), f"{prefix}.url")
    kind_value = value.get("kind")
    kind: SourceKind | None = None
    if kind_value is not None:
        try:
            kind = SourceKind(kind_value)
        except ValueError:
            kinds = ", ".join(k.value for k in SourceKind)
            raise _fail(
                f"{prefix}.kind", f"must be one of {kinds}, got {_show(kind_value)}"
            ) from None
    selectors_value = value.get("selectors", {})
    if not isinstance(selectors_value, dict):
        raise _fail(f"{prefix}.selectors", f"must be a table, got {_show(selectors_value)}")
    _known_keys(selectors_value, f"{prefix}.selectors", SELECTOR_KEYS)
    selectors: dict[str, str] = {}
    for key, selector in selectors_value.items():
        if not isinstance(selector, str) or not selector.strip():
            raise _fail(
                f"{prefix}.selectors.{key}", f"must be a CSS selector, got {_show(selector)}"
            )
        selectors[key] = selector.strip()
    try:  # CSS syntax and the selectors' own rules, now rather than at every poll
        Selectors.from_mapping(selectors)
    except ConfigError as error:
        raise _fail(f"{prefix}.selectors", str(error)) from None
    retention = None
    if "retention_days" in value:
        retention = _int(value, prefix, "retention_days", 0, 1, MAX_RETENTION_DAYS)
    return SourceConfig(url=url, kind=kind, selectors=selectors, retention_days=retention)
