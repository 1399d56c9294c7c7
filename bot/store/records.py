"""What the store hands out: plain frozen dataclasses, times as aware UTC datetimes. `from_row`
reads a row of either backend (by column name). What recording a poll takes in is in
`bot.store.poll_record`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.model import (
    AlertContent,
    Change,
    DeliveryKind,
    DeliveryOutcome,
    DigestContent,
    Entry,
    FailureReason,
    Filters,
    KeyPointsKind,
    Mode,
    PauseReason,
    SourceKind,
    StoryStatus,
)
from bot.store.codec import (
    alert_from_json,
    change_from_json,
    digest_from_json,
    from_us,
    moment_from_us,
)


class Row(Protocol):
    """A database row: Row, or a PostgreSQL record."""

    def __getitem__(self, key: str | int, /) -> Any: ...

    def keys(self) -> Any: ...


def _dt(value: int | None) -> datetime | None:
    return from_us(value)


def _required_dt(value: int) -> datetime:
    return moment_from_us(value)


def _pause(value: str | None) -> PauseReason | None:
    return None if value is None else PauseReason(value)


CHANGE_KINDS = frozenset(
    {DeliveryKind.NEW, DeliveryKind.EDITED, DeliveryKind.KEY_POINTS, DeliveryKind.STATUS}
)


class Backfill(int):
    """How many updates a backfill queued; `already`: how many of the latest it left out
    because the subscription had posted (or queued) them before."""

    already: int

    def __new__(cls, queued: int, *, already: int = 0) -> Backfill:
        made = super().__new__(cls, queued)
        made.already = already
        return made


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One row of `sources`."""

    id: int
    url: str
    kind: SourceKind | None
    selectors: dict[str, str] | None
    interval: int
    title: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_check: datetime
    failures: int
    auto_paused_at: datetime | None
    auto_pause_reason: str | None
    last_polled: datetime | None
    last_changed: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    status: StoryStatus
    last_update_at: datetime | None
    coverage_end: datetime | None
    retention_days: int | None
    baseline_at: datetime | None
    created_at: datetime
    version: int = 0  # moves with every recorded poll: a poll planned from an older one is stale
    last_error_code: FailureReason | None = None  # what kind of failure last_error is

    @property
    def auto_paused(self) -> bool:
        return self.auto_paused_at is not None

    @classmethod
    def from_row(cls, row: Row) -> SourceRecord:
        return cls(
            id=row["id"],
            url=row["url"],
            kind=None if row["kind"] is None else SourceKind(row["kind"]),
            selectors=None if row["selectors"] is None else json.loads(row["selectors"]),
            interval=row["interval"],
            title=row["title"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            body_hash=row["body_hash"],
            next_check=_required_dt(row["next_check"]),
            failures=row["failures"],
            auto_paused_at=_dt(row["auto_paused_at"]),
            auto_pause_reason=row["auto_pause_reason"],
            last_polled=_dt(row["last_polled"]),
            last_changed=_dt(row["last_changed"]),
            last_error=row["last_error"],
            last_error_at=_dt(row["last_error_at"]),
            status=StoryStatus(row["status"]),
            last_update_at=_dt(row["last_update_at"]),
            coverage_end=_dt(row["coverage_end"]),
            retention_days=row["retention_days"],
            baseline_at=_dt(row["baseline_at"]),
            created_at=_required_dt(row["created_at"]),
            version=row["version"],
            last_error_code=(
                None if row["last_error_code"] is None else FailureReason(row["last_error_code"])
            ),
        )


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """One row of `stories`; `guild_id` None: a story from the config file."""

    id: int
    guild_id: int | None
    name: str
    interval: int | None
    paused_at: datetime | None
    pause_reason: PauseReason | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> StoryRecord:
        return cls(
            id=row["id"],
            guild_id=row["guild_id"],
            name=row["name"],
            interval=row["interval"],
            paused_at=_dt(row["paused_at"]),
            pause_reason=_pause(row["pause_reason"]),
            created_at=_required_dt(row["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """One row of `subscriptions`."""

    id: int
    story_id: int
    guild_id: int | None
    target: str
    channel_id: int | None
    mode: Mode
    every: int | None
    mention_role_id: int | None
    keywords: str | None
    thread: bool
    thread_id: int | None
    paused_at: datetime | None
    pause_reason: PauseReason | None
    last_digest_at: datetime | None
    created_at: datetime
    starter_message_id: int | None = None  # thread mode: the message holding the key points
    announced_status: StoryStatus | None = None  # the last story status posted to it
    pause_detail: str | None = None  # what Discord said when it paused
    exclusions: str | None = None  # comma-separated phrases, as given
    pattern: str | None = None  # one RE2 pattern, as given
    forum: bool = False  # a forum channel: the story's thread is a forum post
    channel_name: str | None = None  # the channel's name when subscribed or last renamed
    publish: bool = False  # an announcement channel: publish what is posted (budget allowing)

    @property
    def filters(self) -> Filters:
        return Filters(self.keywords, self.exclusions, self.pattern)

    @classmethod
    def from_row(cls, row: Row) -> SubscriptionRecord:
        return cls(
            id=row["id"],
            story_id=row["story_id"],
            guild_id=row["guild_id"],
            target=row["target"],
            channel_id=row["channel_id"],
            mode=Mode(row["mode"]),
            every=row["every"],
            mention_role_id=row["mention_role_id"],
            keywords=row["keywords"],
            thread=bool(row["thread"]),
            thread_id=row["thread_id"],
            paused_at=_dt(row["paused_at"]),
            pause_reason=_pause(row["pause_reason"]),
            last_digest_at=_dt(row["last_digest_at"]),
            created_at=_required_dt(row["created_at"]),
            starter_message_id=row["starter_message_id"],
            announced_status=(
                None if row["announced_status"] is None else StoryStatus(row["announced_status"])
            ),
            pause_detail=row["pause_detail"],
            exclusions=row["exclusions"],
            pattern=row["pattern"],
            forum=bool(row["forum"]),
            channel_name=row["channel_name"],
            publish=bool(row["publish"]),
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """One pending row of the outbox, with what is needed to send it: a change for a
    subscription, a digest, a thread's starter, or an alert (no subscription)."""

    id: int
    kind: DeliveryKind
    subscription_id: int | None
    story_id: int | None
    story_name: str | None
    guild_id: int | None
    target: str  # 'discord' or 'console'
    channel_id: int | None  # the subscription's channel
    mention_role_id: int | None  # the role it may ping
    source_id: int | None
    source_url: str | None
    entry_id: str | None
    attempts: int
    nonce: str
    created_at: datetime
    change: Change | None = None  # new, edited, key_points, status
    digest: DigestContent | None = None
    alert: AlertContent | None = None
    backfill: bool = False  # asked for by /subscribe backfill: an earlier update, not a new one
    batch: str | None = None  # the nonce of the message this row was claimed for, if any
    batch_more: int = 0  # "and K more" that message carries
    deferred: bool = False  # a throttled edit
    next_attempt: datetime | None = None  # for a claimed row never failed: when it was claimed

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        kind = DeliveryKind(row["kind"])
        payload = row["payload"]
        return cls(
            id=row["id"],
            kind=kind,
            subscription_id=row["subscription_id"],
            story_id=row["story_id"],
            story_name=row["story_name"],
            guild_id=row["guild_id"],
            target=row["target"],
            channel_id=row["channel_id"],
            mention_role_id=row["mention_role_id"],
            source_id=row["source_id"],
            source_url=row["source_url"],
            entry_id=row["entry_id"],
            attempts=row["attempts"],
            nonce=row["nonce"],
            created_at=_required_dt(row["created_at"]),
            change=change_from_json(payload) if kind in CHANGE_KINDS else None,
            digest=digest_from_json(payload) if kind is DeliveryKind.DIGEST else None,
            alert=alert_from_json(payload) if kind is DeliveryKind.ALERT else None,
            backfill=bool(row["backfill"]),
            batch=row["batch"],
            batch_more=row["batch_more"],
            deferred=bool(row["deferred"]),
            next_attempt=_dt(row["next_attempt"]),
        )


@dataclass(frozen=True, slots=True)
class StoredEntryRecord:
    """An entry as stored: its current words, and the words first posted when edited since."""

    source_id: int
    entry: Entry
    first_seen: datetime
    last_seen: datetime
    posted: bool
    edited_at: datetime | None
    first_title: str | None
    first_text: str

    @classmethod
    def from_row(cls, row: Row) -> StoredEntryRecord:
        edited = row["edited_at"] is not None
        return cls(
            source_id=row["source_id"],
            entry=Entry(
                id=row["entry_id"],
                title=row["title"],
                text=row["text"],
                url=row["url"],
                published=_dt(row["published"]),
                updated=_dt(row["updated"]),
                image=row["image"],
            ),
            first_seen=_required_dt(row["first_seen"]),
            last_seen=_required_dt(row["last_seen"]),
            posted=bool(row["posted"]),
            edited_at=_dt(row["edited_at"]),
            first_title=row["first_title"] if edited else row["title"],
            first_text=row["first_text"] if edited else row["text"],
        )


@dataclass(frozen=True, slots=True)
class KeyPointsRecord:
    """The current key-point version of a source and when it changed."""

    source_id: int
    source_url: str
    kind: KeyPointsKind
    items: tuple[str, ...]
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryHealth:
    """How a subscription's deliveries fare: waiting for a retry, given up, the last error."""

    subscription_id: int
    retrying: int
    undeliverable: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """A message that showed an entry to a subscription (to edit it in place)."""

    id: int
    message_id: int
    channel_id: int | None
    posted_at: datetime
    edited_at: datetime | None
    digest: bool


@dataclass(frozen=True, slots=True)
class MessageEntry:
    """One update shown in a posted message: as it was posted (`shown`), and whether it has
    been edited in place since (`edited_at`)."""

    posted_id: int
    source_id: int
    entry_id: str
    edited_at: datetime | None
    shown: Entry | None  # None when the outbox row that posted it is gone


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One attempt to deliver an outbox row, as the delivery history keeps it: what, where,
    when, the outcome and why."""

    id: int
    delivery_id: int | None
    subscription_id: int | None
    story_id: int | None
    guild_id: int | None
    channel_id: int | None
    kind: DeliveryKind
    source_id: int | None
    entry_id: str | None
    title: str | None
    at: datetime
    outcome: DeliveryOutcome
    reason: str | None  # a FailureReason or PauseReason code
    detail: str | None
    message_id: int | None
    next_attempt: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> DeliveryAttempt:
        return cls(
            id=row["id"],
            delivery_id=row["delivery_id"],
            subscription_id=row["subscription_id"],
            story_id=row["story_id"],
            guild_id=row["guild_id"],
            channel_id=row["channel_id"],
            kind=DeliveryKind(row["kind"]),
            source_id=row["source_id"],
            entry_id=row["entry_id"],
            title=row["title"],
            at=_required_dt(row["at"]),
            outcome=DeliveryOutcome(row["outcome"]),
            reason=row["reason"],
            detail=row["detail"],
            message_id=row["message_id"],
            next_attempt=_dt(row["next_attempt"]),
        )
