"""Plain data carried between the stages: extract → diff → store → render.

Everything here is immutable and free of I/O, so each stage can be tested alone.
Datetimes are always timezone-aware and in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


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
