"""Shared pieces of the command services: refusals, quotas, how times are shown."""

from __future__ import annotations

from datetime import datetime

from bot.errors import BulletinError
from bot.model import utc

MAX_SOURCES_PER_GUILD = 50
MAX_SUBSCRIPTIONS_PER_GUILD = 100


class Refusal(BulletinError):
    """A command that cannot be done as asked; the message is shown to the member as is."""


def when(moment: datetime | None, *, never: str = "never") -> str:
    """A time as Discord shows it in the reader's own time zone ("3 minutes ago")."""
    if moment is None:
        return never
    return f"<t:{int(utc(moment).timestamp())}:R>"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"
