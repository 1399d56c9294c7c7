"""What the store keeps of what happened to an update, for /why and /deliveries: why a
subscription was left without it (recorded when it was routed), the outbox rows about it as they
stand, and the digests that showed it. Plain frozen dataclasses; `from_row` reads a row of either
backend (by column name)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.model import DeliveryKind, EditedEntry, LeftOutReason, NewEntry, OutboxState
from bot.store.codec import from_us, moment_from_us


class _Row(Protocol):
    def __getitem__(self, key: str | int, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class LeftOut:
    """An update or an edit a subscription does not get, and why (the value that decided it
    then: the filter's, or the mode's), as a poll's routing found it: one routing decision."""

    subscription_id: int
    change: NewEntry | EditedEntry
    reason: LeftOutReason
    value: str | None


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """One row of `routing_decisions`: an update (kind `new`) or an edit (`edited`) of an entry
    that a subscription was left without when a poll routed it, why, and the value that decided
    it then."""

    subscription_id: int
    source_id: int
    entry_id: str
    kind: DeliveryKind
    reason: LeftOutReason
    value: str | None
    at: datetime

    @classmethod
    def from_row(cls, row: _Row) -> RoutingDecision:
        return cls(
            subscription_id=row["subscription_id"],
            source_id=row["source_id"],
            entry_id=row["entry_id"],
            kind=DeliveryKind(row["kind"]),
            reason=LeftOutReason(row["reason"]),
            value=row["value"],
            at=moment_from_us(row["at"]),
        )


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An outbox row of a subscription as it stands: whether it went (and where, as which
    message), when it is tried next, the last failure (a FailureReason or PauseReason code and
    the far end's words), and the note of its newest attempt (e.g. why nothing was posted)."""

    id: int
    subscription_id: int
    kind: DeliveryKind
    state: OutboxState
    attempts: int
    next_attempt: datetime
    created_at: datetime
    message_id: int | None = None
    channel_id: int | None = None
    sent_at: datetime | None = None
    last_reason: str | None = None
    last_error: str | None = None
    backfill: bool = False
    period_end: datetime | None = None  # a digest: the end of the period it closes
    note: str | None = None

    @classmethod
    def from_row(cls, row: _Row) -> OutboxRow:
        return cls(
            id=row["id"],
            subscription_id=row["subscription_id"],
            kind=DeliveryKind(row["kind"]),
            state=OutboxState(row["state"]),
            attempts=row["attempts"],
            next_attempt=moment_from_us(row["next_attempt"]),
            created_at=moment_from_us(row["created_at"]),
            message_id=row["message_id"],
            channel_id=row["channel_id"],
            sent_at=from_us(row["sent_at"]),
            last_reason=row["last_reason"],
            last_error=row["last_error"],
            backfill=bool(row["backfill"]),
            period_end=from_us(row["period_end"]),
            note=row["note"],
        )


@dataclass(frozen=True, slots=True)
class DigestShown:
    """A digest message that showed an update to a subscription."""

    subscription_id: int
    channel_id: int | None
    message_id: int
    posted_at: datetime

    @classmethod
    def from_row(cls, row: _Row) -> DigestShown:
        return cls(
            subscription_id=row["subscription_id"],
            channel_id=row["channel_id"],
            message_id=row["message_id"],
            posted_at=moment_from_us(row["posted_at"]),
        )
