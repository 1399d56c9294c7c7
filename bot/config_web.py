"""The config's [web] table: where the web window listens, and its token (read from the
environment like the Discord token). Any address but loopback needs the token."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config_values import Secret, fail, known_keys, show
from bot.errors import ConfigError


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The web window (health, metrics, status page): off unless `listen` is set."""

    listen: str | None = None  # "host:port" (IPv6 as "[::1]:8080"); None: off
    token_env: str = "BULLETIN_WEB_TOKEN"  # noqa: S105 - a variable's name, not a secret
    # Read from the environment at load time; required to bind anything but loopback.
    token: Secret | None = field(default=None, repr=False, compare=False)

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) to bind, the brackets of an IPv6 host removed; None when off."""
        if self.listen is None:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def loopback(self) -> bool:
        """Whether `listen` is a loopback address (127.0.0.0/8, ::1 or localhost)."""
        address = self.address
        return address is not None and is_loopback(address[0])


def is_loopback(host: str) -> bool:
    """Is HOST (an address or a name) loopback? Only "localhost" among names is."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_web(table: Mapping[str, Any]) -> WebConfig:
    """The [web] table, checked (ConfigError naming the bad key)."""
    if "token" in table:
        raise fail(
            "web.token",
            "the token is read from the environment variable named by web.token_env, "
            "never from the file: remove it from the file",
        )
    known_keys(table, "web", ("listen", "token_env"))
    token_env = table.get("token_env", WebConfig().token_env)
    if not isinstance(token_env, str) or not token_env.strip() or "=" in token_env:
        raise fail("web.token_env", f"must be an environment variable name, got {show(token_env)}")
    listen = parse_listen(table.get("listen", ""), "web.listen")
    return WebConfig(listen=listen, token_env=token_env.strip())


def parse_listen(value: object, name: str) -> str | None:
    """ "host:port" to listen on, or None for "" (off)."""
    if not isinstance(value, str):
        raise fail(name, f'must be "host:port" (e.g. "127.0.0.1:8080"), got {show(value)}')
    if not value.strip():
        return None
    text = value.strip()
    problem = f'must be "host:port" (e.g. "127.0.0.1:8080", "[::1]:8080"), got {show(value)}'
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isascii() or not port_text.isdigit():
        raise fail(name, problem)
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise fail(name, f"port must be 0-65535, got {port}")
    bracketed = host.startswith("[") and host.endswith("]")
    if (":" in host and not bracketed) or any(c.isspace() or c in "/[]" for c in host.strip("[]")):
        raise fail(name, problem)
    if bracketed or _looks_like_address(host):
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise fail(name, f"not an IP address: {host}") from None
    return f"{host.lower()}:{port}"


def _looks_like_address(host: str) -> bool:
    return all(part.isdigit() for part in host.split("."))


def refuse_unprotected(web: WebConfig) -> None:
    """Refuse a web window that would listen beyond loopback without a token: the
    ConfigError's one line names the variable to set."""
    if web.listen is not None and not web.loopback and web.token is None:
        raise ConfigError(
            f"web.listen: {web.listen} is not a loopback address, so the web window needs a "
            f"token: set the environment variable {web.token_env}"
        )


__all__ = ["WebConfig", "is_loopback", "parse_listen", "parse_web", "refuse_unprotected"]
