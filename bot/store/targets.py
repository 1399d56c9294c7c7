"""Which backend a database target names, without loading either backend: a process on SQLite
never imports asyncpg (a few megabytes it would never use)."""

from __future__ import annotations

from bot.errors import masked_url

SCHEMES = ("postgresql", "postgres")


def is_postgres_url(target: object) -> bool:
    """Does TARGET name a PostgreSQL database (`postgresql://...`) rather than an SQLite file?"""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in SCHEMES


def shown_url(url: str) -> str:
    """URL with its password masked, fit for a log line or an error message."""
    return masked_url(url)
