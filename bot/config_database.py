"""The config's [database] table: an SQLite file (`path`) unless a PostgreSQL URL is given
(`url`, or the environment variable BULLETIN_DATABASE_URL, which overrides both). A password
in the URL is never shown: not in repr, the log, nor an error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.config_values import fail, known_keys, show
from bot.errors import masked_url

DATABASE_URL_ENV = "BULLETIN_DATABASE_URL"  # overrides [database] path and url


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    path: Path = Path("bulletin.db")  # the SQLite file, unless url is set
    # A PostgreSQL URL (postgresql://USER@HOST:PORT/DBNAME); its password is kept out of repr.
    url: str | None = field(default=None, repr=False)

    @property
    def target(self) -> str | Path:
        """What the store opens: the PostgreSQL URL when there is one, else the SQLite file."""
        return self.url if self.url is not None else self.path

    def describe(self) -> str:
        """Where the data is, for the log (a password masked)."""
        if self.url is None:
            return f"SQLite file {self.path}"
        return f"PostgreSQL {masked_url(self.url)}"


def parse_database(table: Mapping[str, Any]) -> DatabaseConfig:
    known_keys(table, "database", ("path", "url"))
    value = table.get("path", "bulletin.db")
    if not isinstance(value, str) or not value.strip():
        raise fail("database.path", f"must be a file path, got {show(value)}")
    url = table.get("url")
    if url is not None:
        url = postgres_url(url, "database.url")
    return DatabaseConfig(path=Path(value), url=url)


def with_database_url(database: DatabaseConfig, environ: Mapping[str, str]) -> DatabaseConfig:
    """DATABASE with the URL of BULLETIN_DATABASE_URL, when that is set."""
    value = environ.get(DATABASE_URL_ENV, "").strip()
    if not value:
        return database
    return replace(database, url=postgres_url(value, DATABASE_URL_ENV))


def postgres_url(value: object, name: str) -> str:
    """A PostgreSQL URL (the error shows it with its password masked)."""
    expected = 'must be a PostgreSQL URL ("postgresql://USER@HOST:PORT/DBNAME")'
    if not isinstance(value, str) or not value.strip():
        raise fail(name, f"{expected}, got {show(value)}")
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise fail(name, f"{expected}, got {masked_url(text)!r}") from None
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise fail(name, f"{expected}, got {masked_url(text)!r}")
    return text
