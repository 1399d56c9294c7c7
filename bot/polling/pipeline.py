"""One poll of one source, the same for the poller and for `/source add`:

    fetch → extract (in a thread) → diff → route → store (one call, one transaction)

Everything between the fetch and the store is pure: `bot.diff` plans the changes and writes,
`bot.schedule` the status and the next check, `bot.delivery.routing` which subscription gets
which change. The store records the outcome in one transaction, and refuses (`StalePoll`) a
plan made from a state that another poll of the source changed meanwhile; the plan is then
made again from the new state. A poll taken under a lease (`lease`: its owner, see
`bot.polling.lease`) is refused for good (`LeaseLost`) once another process took the lease over.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from bot import schedule
from bot.delivery.routing import Routing, route
from bot.diff import plan
from bot.errors import BulletinError, ExtractError, FetchError
from bot.model import (
    AlertKind,
    Change,
    Changes,
    EditedEntry,
    FailureReason,
    Snapshot,
    SourceKind,
    StatusChanged,
    StoryStatus,
)
from bot.sources.addresses import AddressRefused
from bot.sources.extract import Selectors, extract
from bot.sources.fetch import Fetcher, FetchResult
from bot.sources.fetch_errors import (
    BadResponse,
    ConnectionFailed,
    FetchTimeout,
    HTTPStatusError,
    NotHTTPError,
    RetryLater,
    TooLarge,
    TooManyRedirects,
)
from bot.store import (
    LeaseLost,
    PollOutcome,
    PollRecord,
    SourceRecord,
    StalePoll,
    Store,
)

log = logging.getLogger(__name__)

# A plan refused as stale is made again from the new state this many times at most.
REPLANS = 3


@dataclass(frozen=True, slots=True)
class Read:
    """What fetching and reading a source gave: a snapshot, or none when the source said
    its document had not changed (304, or the same body)."""

    fetched: FetchResult
    snapshot: Snapshot | None


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one recorded poll did, for the caller's logs and wake-ups."""

    outcome: PollOutcome
    next_check: datetime
    changes: Changes = ()  # the source's own changes (new, edited, key points)
    status_change: tuple[StoryStatus, StoryStatus] | None = None  # (before, after)
    queued: int = 0  # outbox rows written
    alert: AlertKind | None = None
    failures: int = 0
    error: str | None = None


async def read_source(
    fetcher: Fetcher,
    extractor: Executor,
    url: str,
    *,
    kind: SourceKind | None = None,
    selectors: Selectors | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    previous_hash: str | None = None,
    fetch_ended: Callable[[], None] | None = None,
) -> Read:
    """Fetch a source and read its document (in EXTRACTOR's thread: a hostile page may cost
    a second of parsing, and the event loop keeps serving every other source meanwhile).
    FETCH_ENDED, if given, is called as soon as the fetch is over, whatever its outcome."""
    try:
        fetched = await fetcher.fetch(
            url, etag=etag, last_modified=last_modified, previous_hash=previous_hash
        )
    finally:
        if fetch_ended is not None:
            fetch_ended()
    return await read_fetched(extractor, fetched, url, kind=kind, selectors=selectors)


async def read_fetched(
    extractor: Executor,
    fetched: FetchResult,
    url: str,
    *,
    kind: SourceKind | None = None,
    selectors: Selectors | None = None,
) -> Read:
    """Read the document of FETCHED (in EXTRACTOR's thread); no snapshot when it had none."""
    if fetched.body is None:
        return Read(fetched, None)
    work = partial(_read_document, fetched, kind=kind, selectors=selectors)
    try:
        snapshot = await asyncio.get_running_loop().run_in_executor(extractor, work)
    except BulletinError:
        raise
    except Exception as error:  # a reader's bug is still one line for whoever reads it
        log.warning("extraction failed on %s", url, exc_info=True)
        raise ExtractError(f"could not read {url} ({type(error).__name__})") from error
    return Read(fetched, snapshot)


def _read_document(
    fetched: FetchResult, *, kind: SourceKind | None, selectors: Selectors | None
) -> Snapshot:
    """In the reading thread: FETCHED's body decoded (it waited compressed), then read."""
    document = fetched.document()
    assert document is not None
    return extract(
        document,
        content_type=fetched.content_type,
        url=fetched.final_url,
        kind=kind,
        selectors=selectors,
    )


async def record_read(
    store: Store,
    source: SourceRecord,
    read: Read,
    *,
    now: datetime,
    rng: random.Random,
    lease: str | None = None,
) -> PollReport:
    """Record a poll whose fetch answered: its snapshot's changes, or "not changed"."""
    if read.snapshot is None:
        outcome = (
            PollOutcome.NOT_MODIFIED
            if read.fetched.status == "not_modified"
            else PollOutcome.UNCHANGED
        )
        return await _record_answer(
            store, source, outcome, read.fetched, now=now, rng=rng, lease=lease
        )
    return await record_snapshot(
        store, source.id, read.snapshot, now=now, rng=rng, fetched=read.fetched, lease=lease
    )


async def record_snapshot(
    store: Store,
    source_id: int,
    snapshot: Snapshot,
    *,
    now: datetime,
    rng: random.Random,
    fetched: FetchResult | None = None,
    lease: str | None = None,
) -> PollReport:
    """Diff SNAPSHOT against what the store holds of the source, and record it."""
    for attempt in range(REPLANS):
        state = await store.poll_state(source_id, snapshot, now=now)
        source = state.source
        poll = plan(state.entries, snapshot)
        changes = poll.changes
        if any(isinstance(change, EditedEntry) for change in changes):
            words = await store.entry_words(source_id, [c.entry.id for c in _edits(changes)])
            changes = _with_previous_words(changes, words)
            poll = replace(poll, changes=changes)
        last_update = schedule.last_update_after(poll, now)
        baseline_now = poll.takes_baseline and poll.found_something
        status = schedule.story_status(
            now,
            last_update_at=last_update or source.last_update_at,
            since=(now if baseline_now else source.baseline_at) or source.created_at,
            coverage_end=snapshot.coverage_end or source.coverage_end,
        )
        record = PollRecord(
            source_id=source_id,
            version=source.version,
            outcome=PollOutcome.CHANGED,
            now=now,
            next_check=schedule.next_check(now, interval=source.interval, status=status, rng=rng),
            status=status,
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            body_hash=fetched.body_hash if fetched else None,
            title=snapshot.title,
            coverage_end=snapshot.coverage_end,
            plan=poll,
            touch=tuple(i for i in poll.seen_ids if i in state.touch_due),
            last_update_at=last_update,
            alert=AlertKind.SOURCE_RESUMED if source.auto_paused else None,
            lease=lease,
        )
        # The first poll that finds something is a baseline: it posts nothing but the key
        # points (rule 2), and the status it finds is stored silently.
        try:
            return await store_poll(store, source, record, announce=not baseline_now)
        except LeaseLost:
            raise
        except StalePoll:
            log.debug("%s: polled meanwhile; planning again (%d)", source.url, attempt + 1)
    raise StalePoll(f"source {source_id} kept changing while its poll was recorded")


async def _record_answer(
    store: Store,
    source: SourceRecord,
    outcome: PollOutcome,
    fetched: FetchResult,
    *,
    now: datetime,
    rng: random.Random,
    lease: str | None,
) -> PollReport:
    """A poll that found the document unchanged: it answered, and its status may move."""
    for attempt in range(REPLANS):
        if attempt:
            source = await store.get_source(source.id)
        status = _status(source, now)
        record = PollRecord(
            source_id=source.id,
            version=source.version,
            outcome=outcome,
            now=now,
            next_check=schedule.next_check(now, interval=source.interval, status=status, rng=rng),
            status=status,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            alert=AlertKind.SOURCE_RESUMED if source.auto_paused else None,
            lease=lease,
        )
        try:
            return await store_poll(store, source, record, announce=True)
        except LeaseLost:
            raise
        except StalePoll:
            log.debug("%s: polled meanwhile; planning again (%d)", source.url, attempt + 1)
    raise StalePoll(f"source {source.id} kept changing while its poll was recorded")


async def record_failure(
    store: Store,
    source: SourceRecord,
    error: Exception,
    *,
    now: datetime,
    rng: random.Random,
    pause_after: int,
    lease: str | None = None,
) -> PollReport:
    """Record a failed poll: backoff (or the source's Retry-After), and a pause after
    PAUSE_AFTER failures in a row, told once to every audience of the source."""
    code = failure_reason(error)
    if isinstance(error, BulletinError):
        message = str(error) or type(error).__name__
    else:
        # not one of ours: a bug or an unexpected library error; keep the traceback
        log.error("%s: unexpected error while polling", source.url, exc_info=error)
        message = f"internal error: {type(error).__name__}: {error}"
    for attempt in range(REPLANS):
        if attempt:
            source = await store.get_source(source.id)
        failures = source.failures + 1
        after = schedule.after_failure(
            now,
            failures=failures,
            interval=source.interval,
            pause_after=pause_after,
            rng=rng,
            retry_after=error.delay if isinstance(error, RetryLater) else None,
        )
        paused = source.auto_paused or after.paused
        record = PollRecord(
            source_id=source.id,
            version=source.version,
            outcome=PollOutcome.FAILED,
            now=now,
            next_check=after.next_check,
            status=source.status,
            auto_paused=paused,
            error_code=code,
            error=message,
            failures=failures,
            alert=AlertKind.SOURCE_PAUSED if paused and not source.auto_paused else None,
            lease=lease,
        )
        try:
            await store.record_poll(record)
        except LeaseLost:
            raise
        except StalePoll:
            log.debug("%s: polled meanwhile; planning again (%d)", source.url, attempt + 1)
            continue
        return PollReport(
            outcome=PollOutcome.FAILED,
            next_check=after.next_check,
            alert=record.alert,
            failures=failures,
            error=message,
        )
    raise StalePoll(f"source {source.id} kept changing while its poll was recorded")


async def store_poll(
    store: Store, source: SourceRecord, record: PollRecord, *, announce: bool
) -> PollReport:
    """Route the poll's changes (and, when the source's status moves and ANNOUNCE, its
    stories' status changes) and record it all, with why subscriptions were left without
    updates and edits, in the store's one call."""
    changes = record.plan.changes if record.plan is not None else ()
    moved = record.status != source.status
    story_changes: list[tuple[int, StatusChanged]] = []
    siblings = None
    if moved and announce:
        siblings = tuple(await store.sibling_sources(source.id))
        story_changes = list(
            schedule.story_status_changes(source.id, source.status, record.status, siblings)
        )
    routing = Routing()
    if changes or story_changes:
        subscribers = await store.subscribers(source.id)
        routing = route(changes, subscribers, story_changes)
    deliveries = routing.deliveries
    if deliveries or routing.left_out or siblings is not None:
        record = replace(
            record, deliveries=deliveries, left_out=routing.left_out, siblings=siblings
        )
    await store.record_poll(record)
    return PollReport(
        outcome=record.outcome,
        next_check=record.next_check,
        changes=changes,
        status_change=(source.status, record.status) if moved else None,
        queued=len(deliveries),
        alert=record.alert,
    )


_FAILURES: tuple[tuple[type[Exception], FailureReason], ...] = (
    (FetchTimeout, FailureReason.TIMEOUT),
    (TooLarge, FailureReason.TOO_LARGE),
    (HTTPStatusError, FailureReason.HTTP_STATUS),
    (TooManyRedirects, FailureReason.REDIRECTS),
    (AddressRefused, FailureReason.ADDRESS_REFUSED),
    (NotHTTPError, FailureReason.NOT_HTTP),
    (ConnectionFailed, FailureReason.CONNECTION),
    (BadResponse, FailureReason.BAD_RESPONSE),
    (ExtractError, FailureReason.UNREADABLE),
)


def failure_reason(error: Exception) -> FailureReason:
    """The code of a poll's failure."""
    for kind, reason in _FAILURES:
        if isinstance(error, kind):
            return reason
    return FailureReason.CONNECTION if isinstance(error, FetchError) else FailureReason.INTERNAL


def _status(source: SourceRecord, now: datetime) -> StoryStatus:
    return schedule.story_status(
        now,
        last_update_at=source.last_update_at,
        since=source.baseline_at or source.created_at,
        coverage_end=source.coverage_end,
    )


def _edits(changes: Changes) -> list[EditedEntry]:
    return [change for change in changes if isinstance(change, EditedEntry)]


def _with_previous_words(changes: Changes, words: dict[str, tuple[str | None, str]]) -> Changes:
    """The edits with the stored words they replace (the state is read without them, to
    keep an unchanged poll cheap)."""
    filled: list[Change] = []
    for change in changes:
        if isinstance(change, EditedEntry) and change.entry.id in words:
            title, text = words[change.entry.id]
            change = replace(change, previous_title=title, previous_text=text)
        filled.append(change)
    return tuple(filled)


def selectors_of(source: SourceRecord) -> Selectors | None:
    """A source's CSS selectors, for reading pages that need them."""
    if not source.selectors:
        return None
    return Selectors.from_mapping(source.selectors)


__all__ = [
    "PollReport",
    "Read",
    "read_fetched",
    "read_source",
    "record_failure",
    "record_read",
    "record_snapshot",
    "selectors_of",
    "store_poll",
]
