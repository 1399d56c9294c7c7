"""What the web window reads of the store: the store's interface part (`StatusStore`, beside
`interface.py`) and its records besides those every part uses: the outbox's backlog per
server, key-point versions with what each changed, and how many sources are in each state.
Plain frozen dataclasses; times as aware UTC datetimes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from bot.model import KeyPointsKind, StoryStatus
from bot.store.records import (
    DeliveryAttempt,
    KeyPointsRecord,
    SourceRecord,
    StoredEntryRecord,
    StoryRecord,
)


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


class StatusStore(ABC):
    """What the web window reads: every server's stories at once, for the operator (health,
    metrics and the status page). Reads only; each a few plain queries, whatever the number
    of stories."""

    @abstractmethod
    async def ping(self) -> None:
        """Return once the database answers and could take a write now; raise otherwise (a
        lock held elsewhere is waited for, as any write would)."""

    @abstractmethod
    async def all_stories(self) -> list[StoryRecord]:
        """Every story of every server and of the config, by name."""

    @abstractmethod
    async def all_story_sources(self) -> list[tuple[int, SourceRecord]]:
        """(story id, source) for every source of every story, each story's in the order they
        were added."""

    @abstractmethod
    async def stories_with_unpolled_sources(self) -> set[int]:
        """Ids of the stories that have a source never polled yet (console mode waits for
        their first polls: ids only, as it asks again and again while a thousand come in)."""

    @abstractmethod
    async def newest_key_points(self) -> list[KeyPointsRecord]:
        """The current key-point version of every source that has one."""

    @abstractmethod
    async def newest_entries(self, per_source: int) -> list[StoredEntryRecord]:
        """The PER_SOURCE entries first seen last of every source a story uses (ties: the
        latest stored first)."""

    @abstractmethod
    async def key_point_versions(self, source_id: int, limit: int) -> list[KeyPointsVersion]:
        """A source's newest key-point versions, newest first."""

    @abstractmethod
    async def outbox_backlog(self) -> list[Backlog]:
        """The rows waiting to be delivered, per server (None: the console's), by server."""

    @abstractmethod
    async def recent_deliveries(
        self, limit: int, *, story_id: int | None = None
    ) -> list[DeliveryAttempt]:
        """The newest delivery attempts of every server (of one story), newest first."""

    @abstractmethod
    async def source_states(self) -> list[SourceStates]:
        """How many sources in use share each combination of status, failing, paused."""
