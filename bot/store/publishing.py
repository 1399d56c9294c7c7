"""Publishing in announcement channels: what the store keeps of it (the store's interface part
and its records, beside `interface.py`).

Discord lets a channel publish about 10 messages an hour, and discord.py, asked for one more,
waits inside the request until the limit resets (up to an hour). So Bulletin keeps its own
budget, in the database, where it holds across restarts and across processes sharing it: each
publish is a row taken before the request (`take_publish`, which says whether the hour allows
it) and completed after it (`publish_done`). The hour is a sliding one (the last 60 minutes),
so no window of Discord's, however it is aligned, sees more than the budget.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from bot import limits
from bot.model import PublishOutcome
from bot.store.codec import from_us, moment_from_us

HOUR: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class PublishBudget:
    """`per_hour` publishes a channel may make in any 60 minutes; `reserve` of them are kept
    for key-point changes and "coverage ended" (`key` publishes)."""

    per_hour: int = limits.PUBLISHES_PER_HOUR
    reserve: int = limits.PUBLISH_RESERVE

    def allows(self, used: int, *, key: bool) -> bool:
        return used < (self.per_hour if key else self.per_hour - self.reserve)


@dataclass(frozen=True, slots=True)
class PublishTicket:
    """What `take_publish` decided: `granted` (then `id` is the row to complete), or why not
    (`outcome`: no budget, or Discord asked to wait); `alerted`: moderators are told, once."""

    id: int
    outcome: PublishOutcome
    alerted: bool = False

    @property
    def granted(self) -> bool:
        return self.outcome is PublishOutcome.SENDING


@dataclass(frozen=True, slots=True)
class PublicationRecord:
    """One row of `publications`: a message Bulletin published or left unpublished."""

    id: int
    channel_id: int
    guild_id: int | None
    subscription_id: int | None
    delivery_id: int | None
    message_id: int
    key: bool
    outcome: PublishOutcome
    detail: str | None
    at: datetime
    wait_until: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> PublicationRecord:
        """A row of either backend (times as microseconds, as every time the store keeps)."""
        return cls(
            id=row["id"],
            channel_id=row["channel_id"],
            guild_id=row["guild_id"],
            subscription_id=row["subscription_id"],
            delivery_id=row["delivery_id"],
            message_id=row["message_id"],
            key=bool(row["key"]),
            outcome=PublishOutcome(row["outcome"]),
            detail=row["detail"],
            at=moment_from_us(row["at"]),
            wait_until=from_us(row["wait_until"]),
        )


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """A message just posted in an announcement channel, to publish if the hour allows."""

    channel_id: int
    guild_id: int | None
    subscription_id: int | None
    delivery_id: int | None
    message_id: int
    key: bool  # a key-point change or "coverage ended": may use the reserve
    story: str | None = None  # named in the alert


class PublishingStore(ABC):
    """Publishing in announcement channels: the option, the hourly budget, the record."""

    @abstractmethod
    async def set_publish(self, subscription_id: int, publish: bool) -> None:
        """Whether the subscription publishes what it posts (its `publish` option)."""

    @abstractmethod
    async def take_publish(
        self, request: PublishRequest, *, now: datetime, budget: PublishBudget
    ) -> PublishTicket:
        """In one transaction (one at a time per channel, across processes): a publish of the
        channel's last hour if BUDGET allows it and Discord asked for no wait, recorded as
        `sending`; else the message recorded as left unpublished, and, when it is the first
        left so in the channel's last hour, an alert row for the server's moderators."""

    @abstractmethod
    async def publish_done(
        self,
        publication_id: int,
        *,
        outcome: PublishOutcome,
        detail: str | None = None,
        wait_until: datetime | None = None,
    ) -> None:
        """How a publish went; WAIT_UNTIL: Discord's word that the channel may publish no
        more before then (a 429, or a bucket it said is empty)."""

    @abstractmethod
    async def publications(
        self, *, channel_id: int | None = None, delivery_id: int | None = None
    ) -> list[PublicationRecord]:
        """What was published or left unpublished (in a channel, for an outbox row), oldest
        first."""
