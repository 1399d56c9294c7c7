"""What the web window reads of the store, besides the records every part uses: the outbox's
backlog per server, key-point versions with what each changed, and how many sources are in
each state. Plain frozen dataclasses; times as aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import KeyPointsKind, StoryStatus


@dataclass(frozen=True, slots=True)
class Backlog:
    """The outbox rows waiting for one server (`guild_id` None: the console's, the config's
    stories): how many, how many of them failed at least once and wait for a retry, how many
    wait for a paused subscription, and when the oldest was written."""

    guild_id: int | None
    pending: int
    retrying: int
    held: int
    oldest: datetime


@dataclass(frozen=True, slots=True)
class KeyPointsVersion:
    """One version of a source's key points: the items, and what it added and removed."""

    id: int
    source_id: int
    kind: KeyPointsKind
    items: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SourceStates:
    """How many sources that a story uses share these facts: their status, whether their last
    poll failed, whether they are paused after repeated failures, and whether every story
    using them is paused (so that they are not polled)."""

    status: StoryStatus
    failing: bool
    auto_paused: bool
    stories_paused: bool
    count: int


__all__ = ["Backlog", "KeyPointsVersion", "SourceStates"]
