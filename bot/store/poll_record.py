"""What one poll leaves in the store (`PollRecord`, written by `PollsStore.record_poll` in one
transaction), and what the store tells a poll before it is planned (`PollState`, the
subscribers and sibling sources it is routed and its status planned by)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.diff import PollPlan, SourceState
from bot.model import AlertKind, Change, FailureReason, Filters, Mode, StoryStatus
from bot.store.records import SourceRecord
from bot.store.trail import LeftOut


class PollOutcome(StrEnum):
    """How a poll went."""

    CHANGED = "changed"  # a new body was read and compared (its changes may be none)
    NOT_MODIFIED = "not_modified"  # the server answered 304
    UNCHANGED = "unchanged"  # the same body as last time
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PollState:
    """What the store holds about a source that the diff of one snapshot needs."""

    source: SourceRecord
    entries: SourceState
    touch_due: frozenset[str] = frozenset()  # stored ids whose last-seen mark is due a refresh


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A running subscription of an active story that uses a source: where its changes go."""

    subscription_id: int
    story_id: int
    mode: Mode
    keywords: str | None
    exclusions: str | None = None
    pattern: str | None = None

    @property
    def filters(self) -> Filters:
        return Filters(self.keywords, self.exclusions, self.pattern)


@dataclass(frozen=True, slots=True)
class SiblingSource:
    """Another source of a story that uses the polled one, as a poll's plan saw it."""

    story_id: int
    source_id: int
    status: StoryStatus
    auto_paused: bool


@dataclass(frozen=True, slots=True)
class Routed:
    """One change for one subscription: an outbox row."""

    subscription_id: int
    change: Change


@dataclass(frozen=True, slots=True)
class PollRecord:
    """Everything one poll of a source leaves in the store, written in one transaction.

    `version` is the source's version the poll was planned from: when another poll was
    recorded since, nothing is written and `StalePoll` is raised. `siblings`, when given, are
    the other sources' statuses that story status changes were planned from; they are checked
    the same way. `lease`, when given, is the owner of the lease the poll was taken under
    (`PollsStore.claim_sources`): when another process holds the source's lease now, nothing
    is written and `LeaseLost` is raised; when recorded, the lease is released."""

    source_id: int
    version: int
    outcome: PollOutcome
    now: datetime
    next_check: datetime
    status: StoryStatus  # the source's status from now on
    auto_paused: bool = False  # paused after repeated failures, from now on
    # validators: for a read body they replace the stored ones; otherwise None keeps them
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    # what a read body held (CHANGED)
    title: str | None = None
    coverage_end: datetime | None = None
    plan: PollPlan | None = None
    touch: tuple[str, ...] = ()  # stored entries seen again whose last-seen mark to refresh
    last_update_at: datetime | None = None  # None: as it was
    # a failure (FAILED): its kind and words, and the failures in a row counting it
    error_code: FailureReason | None = None
    error: str | None = None
    failures: int = 0
    deliveries: tuple[Routed, ...] = ()
    left_out: tuple[LeftOut, ...] = ()  # updates and edits subscriptions do not get, and why
    alert: AlertKind | None = None  # told once to every server (and console) using the source
    siblings: tuple[SiblingSource, ...] | None = None
    lease: str | None = None  # the lease owner the poll was taken under (None: not leased)
