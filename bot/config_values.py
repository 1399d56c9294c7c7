"""What every table of the config shares: the `Secret` a token is kept in, and how a bad key
or value is told (`fail`, naming the key; `show`, the value as the file wrote it)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from bot.errors import ConfigError


class Secret:
    """A value that must never reach a log: repr and str show stars, `reveal()` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"{key}: {message}")


def show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def join_key(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def known_keys(table: Mapping[str, Any], prefix: str, known: tuple[str, ...]) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            expected = ", ".join(known)
            raise fail(join_key(prefix, key), f"unknown key{hint}; expected one of: {expected}")


__all__ = ["Secret", "fail", "join_key", "known_keys", "show"]
