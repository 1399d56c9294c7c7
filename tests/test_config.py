from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import (
    Config,
    DatabaseConfig,
    DeliveryConfig,
    DiscordConfig,
    PollingConfig,
    Secret,
    SourceConfig,
    StoryConfig,
    WebConfig,
    check_web,
    load_config,
    parse_config,
    with_web_listen,
)
from bot.errors import ConfigError
from bot.model import SourceKind
from bot.sources.limits import FetchLimits

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_holds_exactly_the_defaults():
    assert load_config(EXAMPLE, environ={}) == Config()


def test_example_story_parses_when_uncommented(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("# [[stories]]")
    block = "\n".join(line.removeprefix("# ") for line in text[start:].splitlines())
    config = load_config(write(tmp_path, text[:start] + block), environ={})
    assert [len(story.sources) for story in config.stories] == [3]


def _documented_keys() -> dict[str, set[str]]:
    """{section: keys} of the example file, commented-out keys included."""
    keys: dict[str, set[str]] = {}
    section = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"^#? ?\[\[?(\w+)\]\]?$", line):
            section = heading.group(1)
        elif key := re.match(r"^#? ?(\w+) =", line):
            keys.setdefault(section, set()).add(key.group(1))
    return keys


@pytest.mark.parametrize(
    ("section", "settings"),
    [
        ("discord", DiscordConfig),
        ("database", DatabaseConfig),
        ("polling", PollingConfig),
        ("delivery", DeliveryConfig),
        ("web", WebConfig),
        ("stories", StoryConfig),
    ],
)
def test_example_documents_every_key_in_its_section(section, settings):
    not_in_file = {"token"}  # read from the environment only
    expected = set(settings.__dataclass_fields__) - not_in_file
    assert expected <= _documented_keys().get(section, set())


def test_defaults_are_those_the_issue_states():
    config = Config()
    assert config.discord.token_env == "DISCORD_TOKEN"
    assert (config.discord.api_base, config.discord.gateway_url) == (None, None)
    assert config.discord.dev_guild is None
    assert config.discord.shard_count is None  # Discord's recommended count
    assert config.database.path == Path("bulletin.db")
    polling = config.polling
    assert (polling.interval, polling.min_interval, polling.timeout) == (60, 15, 20)
    assert polling.max_bytes == 5 * 1024 * 1024
    assert (polling.max_redirects, polling.concurrency, polling.per_host) == (5, 32, 4)
    assert polling.per_host_rate == 0  # no limit: per_host alone bounds a host
    assert (polling.pause_after_failures, polling.retention_days) == (10, 30)
    assert polling.allow_private_addresses is False
    assert config.stories == ()


def test_fetch_limits_are_the_polling_settings_of_the_same_names(tmp_path):
    text = (
        "[polling]\ntimeout = 7.5\nmax_bytes = 2048\nmax_redirects = 2\nconcurrency = 9\n"
        'per_host = 3\nallow_private_addresses = ["127.0.0.1:8080"]\n'
    )
    polling = load_config(write(tmp_path, text), environ={}).polling
    limits = polling.fetch_limits()
    assert {name: getattr(limits, name) for name in limits.__dataclass_fields__} == {
        "timeout": 7.5,
        "max_bytes": 2048,
        "max_redirects": 2,
        "concurrency": 9,
        "per_host": 3,
        "allow_private_addresses": ("127.0.0.1:8080",),
    }
    assert PollingConfig().fetch_limits() == FetchLimits()  # the same defaults


def test_missing_default_file_gives_defaults_and_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={})
    assert (config, config.path) == (Config(), None)
    assert "built-in defaults" in config.describe()


def test_default_file_in_working_directory_is_read(tmp_path, monkeypatch):
    write(tmp_path, "[polling]\ninterval = 90\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(None, environ={}).polling.interval == 90


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_invalid_toml_is_an_error_naming_the_file(tmp_path):
    path = write(tmp_path, "[polling\n")
    with pytest.raises(ConfigError, match=r"config\.toml: not valid TOML"):
        load_config(path, environ={})


def test_a_byte_order_mark_at_the_start_is_read_past(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf[polling]\ninterval = 90\n")  # as Notepad saves UTF-8
    assert load_config(path, environ={}).polling.interval == 90


def test_token_comes_from_the_named_environment_variable(tmp_path):
    path = write(tmp_path, '[discord]\ntoken_env = "MY_BOT_TOKEN"\n')
    config = load_config(path, environ={"MY_BOT_TOKEN": "s3cret-value"})
    assert config.discord.token == Secret("s3cret-value")


def test_token_absent_means_none():
    assert load_config(EXAMPLE, environ={}).discord.token is None


def test_token_never_appears_in_repr_or_str(tmp_path):
    config = load_config(EXAMPLE, environ={"DISCORD_TOKEN": "s3cret-value"})
    assert config.discord.token is not None
    shown = repr(config) + str(config) + repr(config.discord.token) + str(config.discord.token)
    assert "s3cret-value" not in shown


def test_token_in_file_is_refused(tmp_path):
    path = write(tmp_path, '[discord]\ntoken = "abc"\n')
    with pytest.raises(ConfigError, match=r"^discord\.token: .*environment"):
        load_config(path, environ={})


def test_full_story_with_table_sources():
    config = parse_config(
        {
            "polling": {"interval": 30},
            "stories": [
                {
                    "name": "Vote",
                    "sources": [
                        "https://example.com/live",
                        {"url": "https://example.org/feed", "kind": "feed"},
                        {"url": "http://example.net/", "selectors": {"entry": "article"}},
                    ],
                }
            ],
        }
    )
    story = config.stories[0]
    assert (story.name, story.interval) == ("Vote", 30)
    assert story.sources == (
        SourceConfig(url="https://example.com/live"),
        SourceConfig(url="https://example.org/feed", kind=SourceKind.FEED),
        SourceConfig(url="http://example.net/", selectors={"entry": "article"}),
    )


def test_allow_private_addresses_list_is_normalised():
    config = parse_config(
        {"polling": {"allow_private_addresses": ["LocalHost:8080", "[::1]:9000"]}}
    )
    assert config.polling.allow_private_addresses == ("localhost:8080", "[::1]:9000")


BAD = [
    ({"polling": {"interval": 5}}, "polling.interval: must be at least min_interval (15), got 5"),
    ({"polling": {"intervall": 60}}, "polling.intervall: unknown key (did you mean interval?)"),
    ({"polling": {"interval": "60"}}, "polling.interval: must be a whole number, got '60'"),
    ({"polling": {"interval": True}}, "polling.interval: must be a whole number, got true"),
    ({"polling": {"timeout": 0}}, "polling.timeout: must be a positive number, got 0"),
    ({"polling": {"concurrency": 0}}, "polling.concurrency: must be at least 1, got 0"),
    ({"polling": {"max_redirects": -1}}, "polling.max_redirects: must be at least 0, got -1"),
    ({"polling": {"allow_private_addresses": "yes"}}, "polling.allow_private_addresses: must be"),
    (
        {"polling": {"allow_private_addresses": ["127.0.0.1"]}},
        'polling.allow_private_addresses[0]: must be "host:port"',
    ),
    (
        {"polling": {"allow_private_addresses": ["127.0.0.1:70000"]}},
        "polling.allow_private_addresses[0]: port must be 1-65535, got 70000",
    ),
    (
        {"polling": {"allow_private_addresses": ["::1:80"]}},
        'polling.allow_private_addresses[0]: must be "host:port"',
    ),
    # values past what timers and SQLite hold were tracebacks or a failure every tick
    (
        {"polling": {"interval": 10**20}},
        "polling.interval: must be at most 86400, got 100000000000000000000",
    ),
    ({"polling": {"timeout": 1e300}}, "polling.timeout: must be at most 600, got 1e+300"),
    ({"polling": {"max_bytes": 2**40}}, "polling.max_bytes: must be at most 1073741824"),
    ({"polling": {"max_redirects": 1000}}, "polling.max_redirects: must be at most 20"),
    ({"polling": {"concurrency": 10**23}}, "polling.concurrency: must be at most 1000"),
    ({"polling": {"per_host": 5000}}, "polling.per_host: must be at most 1000"),
    (
        {"polling": {"per_host_rate": -1}},
        "polling.per_host_rate: must be 0 (no limit) or a positive number, got -1",
    ),
    ({"polling": {"per_host_rate": True}}, "polling.per_host_rate: must be a number"),
    ({"polling": {"per_host_rate": 5000}}, "polling.per_host_rate: must be at most 1000"),
    ({"polling": {"retention_days": 10**13}}, "polling.retention_days: must be at most 3650"),
    (
        {"polling": {"pause_after_failures": 10**6}},
        "polling.pause_after_failures: must be at most 1000",
    ),
    ({"delivery": {"rate": 1e9}}, "delivery.rate: must be at most 1000"),
    ({"discord": {"dev_guild": 2**64}}, "discord.dev_guild: must be a server id"),
    ({"discord": {"shard_count": 0}}, "discord.shard_count: must be at least 1, got 0"),
    ({"discord": {"shard_count": -2}}, "discord.shard_count: must be at least 1, got -2"),
    ({"discord": {"shard_count": 2.0}}, "discord.shard_count: must be a whole number, got 2.0"),
    ({"discord": {"shard_count": "4"}}, "discord.shard_count: must be a whole number, got '4'"),
    ({"discord": {"shard_count": True}}, "discord.shard_count: must be a whole number, got true"),
    ({"discord": {"shard_count": 2**16 + 1}}, "discord.shard_count: must be at most 65536"),
    ({"discord": {"shard_cont": 2}}, "discord.shard_cont: unknown key (did you mean shard_count?)"),
    (
        {"stories": [{"name": "x", "interval": 10**9, "sources": ["https://a.example/"]}]},
        "stories[0].interval: must be at most 86400",
    ),
    ({"polling": 3}, "polling: must be a table"),
    ({"database": {"path": ""}}, "database.path: must be a file path"),
    ({"delivery": {"rate": -1}}, "delivery.rate: must be a positive number, got -1"),
    ({"discord": {"dev_guild": "x"}}, "discord.dev_guild: must be a server id"),
    ({"discord": {"api_base": "discord.com"}}, "discord.api_base: must be an absolute http"),
    ({"discord": {"gateway_url": "http://x"}}, "discord.gateway_url: must be an absolute ws"),
    ({"discord": {"token_env": ""}}, "discord.token_env: must be an environment variable name"),
    ({"extra": {}}, "extra: unknown key"),
    ({"stories": {"name": "x"}}, "stories: must be a list of tables"),
    ({"stories": [{"sources": ["https://a.example/"]}]}, "stories[0].name: missing"),
    (
        {"stories": [{"name": " ", "sources": ["https://a.example/"]}]},
        "stories[0].name: must be a non-empty string, got ' '",
    ),
    ({"stories": [{"name": "x"}]}, "stories[0].sources: missing"),
    ({"stories": [{"name": "x", "sources": []}]}, "stories[0].sources: must be a non-empty list"),
    (
        {"stories": [{"name": "x", "sources": [{"kind": "feed"}]}]},
        "stories[0].sources[0].url: missing",
    ),
    (
        {"stories": [{"name": "x", "sources": ["https://exa mple.com/"]}]},
        "stories[0].sources[0]: must be an absolute http or https URL, got 'https://exa mple.com/'",
    ),
    (
        {"stories": [{"name": "x", "sources": ["https://[::1/live"]}]},
        "stories[0].sources[0]: must be an absolute http or https URL",
    ),
    (
        {
            "stories": [
                {
                    "name": "x",
                    "sources": [{"url": "https://a.example/", "selectors": {"entry": "div[["}}],
                }
            ]
        },
        "stories[0].sources[0].selectors: selector 'entry' is not valid CSS: 'div[['",
    ),
    (
        {
            "stories": [
                {
                    "name": "x",
                    "sources": [{"url": "https://a.example/", "selectors": {"title": "h2"}}],
                }
            ]
        },
        "stories[0].sources[0].selectors: selectors 'title', 'body' and 'time' need an 'entry'",
    ),
    (
        {"stories": [{"name": "x", "sources": ["ftp://a.example/"]}]},
        "stories[0].sources[0]: must be an absolute http or https URL, got 'ftp://a.example/'",
    ),
    (
        {"stories": [{"name": "x", "sources": [{"url": "https://a.example/", "kind": "blog"}]}]},
        "stories[0].sources[0].kind: must be one of liveblog, feed, page, got 'blog'",
    ),
    (
        {"stories": [{"name": "x", "sources": [{"url": "https://a.example/", "css": {}}]}]},
        "stories[0].sources[0].css: unknown key",
    ),
    (
        {
            "stories": [
                {"name": "x", "sources": [{"url": "https://a.example/", "selectors": {"x": "a"}}]}
            ]
        },
        "stories[0].sources[0].selectors.x: unknown key",
    ),
    (
        {"stories": [{"name": "x", "interval": 10, "sources": ["https://a.example/"]}]},
        "stories[0].interval: must be at least polling.min_interval (15), got 10",
    ),
    (
        {
            "stories": [
                {"name": "Same", "sources": ["https://a.example/"]},
                {"name": "same", "sources": ["https://b.example/"]},
            ]
        },
        "stories[1].name: 'same' is already the name of another story",
    ),
]


BAD += [
    (
        {"web": {"listen": 8080}},
        'web.listen: must be "host:port" (e.g. "127.0.0.1:8080"), got 8080',
    ),
    ({"web": {"listen": "localhost"}}, 'web.listen: must be "host:port"'),
    ({"web": {"listen": "::1:8080"}}, 'web.listen: must be "host:port"'),
    ({"web": {"listen": "127.0.0.1:70000"}}, "web.listen: port must be 0-65535, got 70000"),
    ({"web": {"listen": "300.1.1.1:80"}}, "web.listen: not an IP address: 300.1.1.1"),
    ({"web": {"token": "x"}}, "web.token: the token is read from the environment variable"),
    ({"web": {"token_env": ""}}, "web.token_env: must be an environment variable name"),
    ({"web": {"port": 1}}, "web.port: unknown key; expected one of: listen, token_env"),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[message for _, message in BAD])
def test_bad_value_names_its_key(data, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("count", [1, 2, 65536])
def test_shard_count_is_a_positive_whole_number(count):
    assert parse_config({"discord": {"shard_count": count}}).discord.shard_count == count


def test_default_interval_below_a_raised_min_interval_says_to_set_it():
    with pytest.raises(ConfigError) as caught:
        parse_config({"polling": {"min_interval": 120}})
    assert str(caught.value) == (
        "polling.interval: must be at least min_interval (120), its default 60 is lower: set it"
    )


def test_a_source_may_keep_its_seen_entries_for_a_retention_of_its_own():
    config = parse_config(
        {
            "stories": [
                {"name": "S", "sources": [{"url": "https://a.example/f", "retention_days": 90}]}
            ]
        }
    )
    assert config.stories[0].sources[0].retention_days == 90


def test_a_source_retention_below_a_day_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"stories\[0\]\.sources\[0\]\.retention_days"):
        parse_config(
            {
                "stories": [
                    {"name": "S", "sources": [{"url": "https://a.example/f", "retention_days": 0}]}
                ]
            }
        )


# --- the database: an SQLite path, or a PostgreSQL URL ----------------------------------------

PG_URL = "postgresql://bulletin@db.example:5433/news"


def test_database_url_selects_postgresql_instead_of_the_path(tmp_path):
    config = load_config(write(tmp_path, f'[database]\npath = "x.db"\nurl = "{PG_URL}"\n'), {})
    assert (config.database.target, config.database.path) == (PG_URL, Path("x.db"))


def test_without_a_url_the_target_is_the_sqlite_path(tmp_path):
    config = load_config(write(tmp_path, '[database]\npath = "x.db"\n'), {})
    assert config.database.target == Path("x.db")


@pytest.mark.parametrize(
    "file_text", ['[database]\npath = "x.db"\n', '[database]\nurl = "postgresql://a@b/c"\n']
)
def test_the_environment_url_overrides_path_and_url(tmp_path, file_text):
    config = load_config(write(tmp_path, file_text), {"BULLETIN_DATABASE_URL": PG_URL})
    assert config.database.target == PG_URL


def test_the_environment_url_applies_without_a_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config(None, {"BULLETIN_DATABASE_URL": PG_URL}).database.target == PG_URL


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("mysql://root:hunter2@db/x", "database.url"),
        ("postgresql://u:hunter2@db:port/x", "database.url"),
    ],
)
def test_a_url_that_is_not_postgresql_is_refused_with_its_password_masked(tmp_path, url, where):
    with pytest.raises(ConfigError, match=f"^{where}: must be a PostgreSQL URL") as raised:
        load_config(write(tmp_path, f'[database]\nurl = "{url}"\n'), {})
    assert "hunter2" not in str(raised.value) and ":***@" in str(raised.value)


def test_a_bad_environment_url_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"^BULLETIN_DATABASE_URL: must be a PostgreSQL URL"):
        load_config(write(tmp_path, ""), {"BULLETIN_DATABASE_URL": "sqlite:///x.db"})


def test_the_database_password_never_appears_in_repr_or_description(tmp_path):
    url = "postgresql://bulletin:hunter2@db.example:5433/news"
    config = load_config(write(tmp_path, ""), {"BULLETIN_DATABASE_URL": url})
    assert config.database.url == url
    for shown in (repr(config), str(config), config.database.describe()):
        assert "hunter2" not in shown
    assert config.database.describe() == "PostgreSQL postgresql://bulletin:***@db.example:5433/news"


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("127.0.0.1:8080", True),
        ("127.8.9.1:0", True),
        ("[::1]:80", True),
        ("localhost:9", True),
        ("0.0.0.0:8080", False),
        ("[::]:80", False),
        ("192.0.2.1:80", False),
        ("bulletin:80", False),
    ],
)
def test_web_listen_is_loopback_only_for_loopback_addresses(listen, loopback):
    assert parse_config({"web": {"listen": listen}}).web.loopback is loopback


def test_web_is_off_by_default_and_with_an_empty_listen():
    assert Config().web.address is None
    assert parse_config({"web": {"listen": " "}}).web.listen is None


def test_web_token_comes_from_the_named_variable_and_is_kept_secret(tmp_path):
    path = write(tmp_path, '[web]\nlisten = "0.0.0.0:80"\ntoken_env = "MY_WEB"\n')
    config = load_config(path, environ={"MY_WEB": "s3cret"})
    assert config.web.token is not None and config.web.token.reveal() == "s3cret"
    assert "s3cret" not in repr(config) and "s3cret" not in str(config.web)
    check_web(config)  # a token: allowed beyond loopback


def test_web_beyond_loopback_without_its_token_is_refused_naming_the_variable(tmp_path):
    config = load_config(write(tmp_path, '[web]\nlisten = "[::]:80"\n'), environ={})
    with pytest.raises(ConfigError) as caught:
        check_web(config)
    assert str(caught.value).endswith("set the environment variable BULLETIN_WEB_TOKEN")
    check_web(with_web_listen(config, "127.0.0.1:80"))  # loopback needs none
    assert with_web_listen(config, "").web.listen is None
