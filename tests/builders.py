"""Builders every test uses: entries, snapshots, a store on a temporary file, recorded polls.

    store = await open_store(tmp_path / "bulletin.db")
    changes = await poll(store, source_id, snap(entry(1), entry(2), key_points=("a",)))

`poll` records a snapshot through the same code a scheduled poll runs (diff, routing, the
store's one call), with a seeded random source, and returns the poll's changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.errors import FetchError
from bot.model import (
    Changes,
    Entry,
    KeyPoints,
    KeyPointsKind,
    Snapshot,
    SourceKind,
    StatusChanged,
    StoryStatus,
)
from bot.polling.pipeline import (
    PollReport,
    Read,
    record_failure,
    record_read,
    record_snapshot,
    store_poll,
)
from bot.sources.fetch import FetchResult
from bot.store import PollOutcome, PollRecord, SourceRecord, Store

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SITE = "https://example.org/live"


def source_record(**changes: object) -> SourceRecord:
    """A row of `sources` as the store hands it out, never polled, due at T0; CHANGES set any
    of its fields (url, status, next_check, ...)."""
    fields: dict[str, object] = {
        "id": 1,
        "url": SITE,
        "kind": None,
        "selectors": None,
        "interval": 60,
        "title": None,
        "etag": None,
        "last_modified": None,
        "body_hash": None,
        "next_check": T0,
        "failures": 0,
        "auto_paused_at": None,
        "auto_pause_reason": None,
        "last_polled": None,
        "last_changed": None,
        "last_error": None,
        "last_error_at": None,
        "status": StoryStatus.LIVE,
        "last_update_at": None,
        "coverage_end": None,
        "retention_days": None,
        "baseline_at": None,
        "created_at": T0,
    }
    return SourceRecord(**(fields | changes))  # type: ignore[arg-type]


def entry(
    n: int,
    text: str | None = None,
    *,
    title: str | None = None,
    dated: bool = True,
    site: str | None = SITE,
) -> Entry:
    """Update number N: id `eN`, a title and text of its own, published N minutes after T0."""
    return Entry(
        id=f"e{n}",
        title=title if title is not None else f"Update {n}",
        text=text if text is not None else f"Text of update {n}.",
        url=f"{site}#e{n}" if site else None,
        published=T0 + timedelta(minutes=n) if dated else None,
    )


def snap(
    *entries: Entry,
    key_points: tuple[str, ...] | KeyPoints | None = None,
    title: str | None = "A live story",
) -> Snapshot:
    """A live page holding ENTRIES and, when given, a key-points box (its items: a summary)."""
    if isinstance(key_points, tuple):
        key_points = KeyPoints(KeyPointsKind.SUMMARY, key_points)
    return Snapshot(kind=SourceKind.LIVEBLOG, title=title, entries=entries, key_points=key_points)


async def poll(
    store: Store,
    source_id: int,
    snapshot: Snapshot,
    now: datetime = T0,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    body_hash: str | None = None,
    seed: int = 0,
) -> Changes:
    """Record SNAPSHOT as a poll of the source at NOW; its changes."""
    fetched = FetchResult(
        status="ok",
        body=b"",
        content_type=None,
        final_url="",
        etag=etag,
        last_modified=last_modified,
        body_hash=body_hash,
    )
    report = await record_snapshot(
        store, source_id, snapshot, now=now, rng=random.Random(seed), fetched=fetched
    )
    return report.changes


@dataclass
class Clock:
    """A clock a test moves by hand."""

    now: datetime = T0 + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def answer(
    store: Store,
    source_id: int,
    *,
    now: datetime = T0,
    etag: str | None = None,
    last_modified: str | None = None,
    seed: int = 0,
    lease: str | None = None,
) -> PollReport:
    """Record a poll of the source whose server answered 304 Not Modified (taken under LEASE's
    owner, when given)."""
    fetched = FetchResult(
        status="not_modified",
        body=None,
        content_type=None,
        final_url="",
        etag=etag,
        last_modified=last_modified,
        body_hash=None,
    )
    source = await store.get_source(source_id)
    return await record_read(
        store, source, Read(fetched, None), now=now, rng=random.Random(seed), lease=lease
    )


async def fail(
    store: Store,
    source_id: int,
    *,
    now: datetime = T0,
    error: str = "HTTP 500",
    pause_after: int = 10,
    seed: int = 0,
) -> SourceRecord:
    """Record a failed poll of the source (a fetch error saying ERROR); the source after it."""
    source = await store.get_source(source_id)
    await record_failure(
        store, source, FetchError(error), now=now, rng=random.Random(seed), pause_after=pause_after
    )
    return await store.get_source(source_id)


async def finish(
    store: Store,
    source_id: int,
    *,
    now: datetime = T0,
    next_check: datetime,
    status: StoryStatus | None = None,
    announce: bool = True,
) -> StatusChanged | None:
    """Record an unchanged poll that found the source in STATUS (None: as it was), with its
    next check: the source's status change, when there is one and it is announced."""
    source = await store.get_source(source_id)
    record = PollRecord(
        source_id=source_id,
        version=source.version,
        outcome=PollOutcome.NOT_MODIFIED,
        now=now,
        next_check=next_check,
        status=status or source.status,
    )
    report = await store_poll(store, source, record, announce=announce)
    if report.status_change is None or not announce:
        return None
    before, after = report.status_change
    return StatusChanged(status=after, previous=before)
