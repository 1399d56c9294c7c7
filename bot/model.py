"""Plain data carried between the stages: extract → diff → store → render.

Everything here is immutable and free of I/O, so each stage can be tested alone.
Datetimes are always timezone-aware and in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum


class SourceKind(StrEnum):
    """What a source turned out to be."""

    LIVEBLOG = "liveblog"  # a live page: entries, maybe key points
    FEED = "feed"  # RSS, Atom or JSON Feed: entries, never key points
    PAGE = "page"  # a page with a key-points box and no updates


class KeyPointsKind(StrEnum):
    """Where key points came from, in order of preference (ARCHITECTURE rule 6)."""

    SUMMARY = "summary"  # the source's own summary list ("Here's what to know")
    KEY_EVENTS = "key_events"  # the source's key-events list
    EXTRACTED = "extracted"  # sentences picked from the newest updates; never versioned


class Mode(StrEnum):
    """What a subscription receives."""

    UPDATES = "updates"  # every new update, edits, key-point changes, coverage ended
    KEY_POINTS = "key-points"  # only key-point changes (and coverage ended)
    DIGEST = "digest"  # one message per period: its updates and the current key points


class DigestPeriod(IntEnum):
    """How often a digest subscription is posted, in seconds; on the hour (UTC)."""

    H1 = 3600
    H3 = 3 * 3600
    H6 = 6 * 3600
    H12 = 12 * 3600
    H24 = 24 * 3600

    @property
    def label(self) -> str:
        """How members pick it: "1h", "3h", ..."""
        return f"{self.value // 3600}h"

    @classmethod
    def from_label(cls, label: str) -> DigestPeriod:
        for period in cls:
            if period.label == label:
                return period
        raise ValueError(f"no digest period {label!r}")


DEFAULT_DIGEST_PERIOD = DigestPeriod.H6


class PauseReason(StrEnum):
    """Why a story, a subscription or a source stopped (stored as this code)."""

    MODERATOR = "moderator"  # /source pause
    CONFIG_REMOVED = "config_removed"  # a config story that left the config file
    CHANNEL_GONE = "channel_gone"  # Discord: the channel was deleted
    NO_PERMISSION = "no_permission"  # Discord: 403, Bulletin may not post there
    NOT_FOUND = "not_found"  # Discord: another 404
    TAG_REQUIRED = "tag_required"  # Discord: the forum requires a tag Bulletin does not apply


class FailureReason(StrEnum):
    """Why one attempt failed: a poll of a source, or a send to Discord (stored as this code;
    the words of the far end are kept beside it)."""

    # polls
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    HTTP_STATUS = "http_status"
    REDIRECTS = "redirects"
    ADDRESS_REFUSED = "address_refused"
    NOT_HTTP = "not_http"
    CONNECTION = "connection"
    BAD_RESPONSE = "bad_response"
    UNREADABLE = "unreadable"  # fetched, but no live page, key-points box or feed in it
    # sends
    RATE_LIMITED = "rate_limited"
    DISCORD_ERROR = "discord_error"  # 5xx
    NETWORK = "network"
    REFUSED = "refused"  # Discord will never accept this message (400)
    THREAD_LOST = "thread_lost"  # the story's thread was deleted or locked: a new one follows
    EDIT_THROTTLED = "edit_throttled"  # at most one edit a minute per message: waits
    NO_ALERTS_CHANNEL = "no_alerts_channel"  # a server with no alerts or system channel
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    # either
    INTERNAL = "internal"  # a bug of ours


class DeliveryKind(StrEnum):
    """What an outbox row posts."""

    NEW = "new"  # a new update (or one asked for by a backfill)
    EDITED = "edited"  # an update's new words: the message edited in place, or a correction
    KEY_POINTS = "key_points"  # the key points changed
    STATUS = "status"  # the story's status changed ("coverage ended")
    DIGEST = "digest"  # a digest period closed
    ALERT = "alert"  # a message for a server's moderators (or the console's operator)
    STARTER = "starter"  # the key-points message a story's thread starts from


class AlertKind(StrEnum):
    """What moderators are told."""

    SOURCE_PAUSED = "source_paused"  # a source failed repeatedly; it is probed every 30 min
    SOURCE_RESUMED = "source_resumed"  # it answers again
    SUBSCRIPTION_PAUSED = "subscription_paused"  # Discord refused a subscription's channel
    POST_REPLACED = "post_replaced"  # a story's forum post was deleted or locked: a new one
    UNPUBLISHED = "unpublished"  # an announcement channel's publishes ran out for the hour


class PublishOutcome(StrEnum):
    """What became of publishing (crossposting) one message of an announcement channel."""

    SENDING = "sending"  # a publish of the hour's budget taken; Discord not answered yet
    PUBLISHED = "published"
    FAILED = "failed"  # Discord refused it or did not answer (it still counts to the hour)
    NO_BUDGET = "no_budget"  # left unpublished: the hour's publishes were used (or kept)
    WAITING = "waiting"  # left unpublished: Discord asked Bulletin to wait (a 429)


class DeliveryOutcome(StrEnum):
    """What one attempt to deliver a message came to."""

    SENT = "sent"
    RETRY = "retry"
    PAUSED = "paused"
    GIVEN_UP = "given_up"


class LeftOutReason(StrEnum):
    """Why an update (or its edit) was not sent to a subscription, recorded when the change was
    routed to it, with the value that decided it then (stored as this code)."""

    MODE = "mode"  # not a kind of change the subscription's mode receives (value: the mode)
    KEYWORDS = "keywords"  # none of its keywords is in the update
    EXCLUSIONS = "exclusions"  # one of its exclusions is in the update
    PATTERN = "pattern"  # its pattern does not match the update


class OutboxState(StrEnum):
    """Where an outbox row stands."""

    PENDING = "pending"  # not sent yet: due, waiting for a retry, or its subscription paused
    SENT = "sent"
    GIVEN_UP = "given_up"


class StoryStatus(StrEnum):
    """How lively a story is; decides how often its sources are polled."""

    LIVE = "live"
    QUIET = "quiet"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Entry:
    """One update of a live page or one item of a feed."""

    id: str
    title: str | None
    text: str
    url: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Filters:
    """Which updates a subscription takes, as its moderator gave them (None: not set): one of
    the keywords (comma-separated phrases, whole words, any case), none of the exclusions
    (phrases too), and a match of the pattern (RE2, any case)."""

    keywords: str | None = None
    exclusions: str | None = None
    pattern: str | None = None


@dataclass(frozen=True, slots=True)
class KeyPoints:
    kind: KeyPointsKind
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one poll of a source found. `entries` are oldest first."""

    kind: SourceKind
    title: str | None = None
    url: str | None = None
    entries: tuple[Entry, ...] = ()
    key_points: KeyPoints | None = None
    coverage_start: datetime | None = None
    coverage_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class DigestContent:
    """What a digest row posts: the period's updates (with their sources), the story's key
    points when the period closed, and whether they changed in it."""

    since: datetime
    until: datetime
    entries: tuple[tuple[int, Entry], ...]
    key_points: KeyPoints | None
    key_points_changed: bool


@dataclass(frozen=True, slots=True)
class AlertContent:
    """What an alert row tells moderators: about a source (its URL, the error that paused
    it), or about a subscription Discord refused (its story, channel and why)."""

    kind: AlertKind
    url: str | None = None
    error: str | None = None
    story: str | None = None
    channel_id: int | None = None
    thread: bool = False
    pause_reason: PauseReason | None = None
    pause_detail: str | None = None
    channel_name: str | None = None  # as last known: a deleted channel's mention shows none
    forum: bool = False  # the channel is a forum (one post per story)


# --- Changes: what diff finds and delivery posts -------------------------------------------


@dataclass(frozen=True, slots=True)
class NewEntry:
    entry: Entry


@dataclass(frozen=True, slots=True)
class EditedEntry:
    entry: Entry
    previous_title: str | None
    previous_text: str


@dataclass(frozen=True, slots=True)
class KeyPointsChanged:
    kind: KeyPointsKind
    added: tuple[str, ...]
    removed: tuple[str, ...]
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StatusChanged:
    status: StoryStatus
    previous: StoryStatus


Change = NewEntry | EditedEntry | KeyPointsChanged | StatusChanged


# The outcome of one poll, in posting order: edits, new entries oldest first, key points.
Changes = tuple[Change, ...]


def utc(dt: datetime) -> datetime:
    """Return `dt` in UTC; naive datetimes are taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def format_utc(dt: datetime | None) -> str | None:
    """The one textual form of a time Bulletin prints: `YYYY-MM-DDTHH:MM:SSZ`."""
    if dt is None:
        return None
    # not strftime("%Y"): it prints the year 99 as "99", not "0099"
    d = utc(dt)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z"


def entry_to_json(entry: Entry) -> dict[str, str | None]:
    """ENTRY as `bulletin preview --json` and `bulletin replay --json` print it."""
    return {
        "id": entry.id,
        "title": entry.title,
        "text": entry.text,
        "url": entry.url,
        "published": format_utc(entry.published),
        "updated": format_utc(entry.updated),
    }


def snapshot_to_json(snapshot: Snapshot) -> dict[str, object]:
    """The object `bulletin preview --json` prints."""
    key_points = snapshot.key_points
    return {
        "title": snapshot.title,
        "url": snapshot.url,
        "kind": snapshot.kind.value,
        "entries": [entry_to_json(e) for e in snapshot.entries],
        "key_points": (
            None
            if key_points is None
            else {"kind": key_points.kind.value, "items": list(key_points.items)}
        ),
    }
