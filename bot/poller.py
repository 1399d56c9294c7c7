"""The poll cycle: which sources are due, fetching them, and recording what each poll found.

APScheduler drives it: an interval job (every `tick` seconds, coalesced, one instance at a time)
picks the sources whose next check has come (`Store.due_sources`; the due times live in the
database, with jitter from `bot.schedule`) and starts one task per source, at most
`max_in_flight` at once; the Fetcher bounds the fetches themselves (overall and per host). A
host holds at most twice `per_host` of those places (its fetches and as many queued behind
them), so the sources of one slow host cannot fill them all; the rest of its due sources wait
in the database for a later pick. When a pick was full, a finished poll picks again at once,
so a backlog drains faster than one tick a second. A source is never polled twice at once
(the in-flight set).

Each poll is isolated: whatever goes wrong is recorded as a failure of that source alone, with
backoff (or the source's Retry-After), and after `pause_after_failures` in a row the source is
paused and probed every 30 minutes; the store writes "paused" and "resumed" alerts in the same
transactions, so moderators are told once each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from bot import schedule
from bot.errors import BulletinError
from bot.model import StoryStatus
from bot.runtime import Runtime
from bot.sources.extract import Selectors, extract
from bot.sources.fetch import RetryLater
from bot.store import SourceRecord

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
PRUNE_EVERY = timedelta(days=1)
PRUNE_FIRST = timedelta(minutes=10)  # not in the first minutes of a run (or a demo)


class Poller:
    """Polls due sources of `runtime.store` with `runtime.fetcher`; `start()` adds its jobs
    to `runtime.scheduler` (which the caller starts and shuts down); `stop()` cancels polls
    in flight (the store's transactions roll back, so nothing is half-written)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
        tick: float = TICK_SECONDS,
        max_in_flight: int | None = None,
    ) -> None:
        self._runtime = runtime
        self._store = runtime.store
        self._fetcher = runtime.fetcher
        self._settings = runtime.config.polling
        self._rng = rng or random.Random()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._tick = tick
        # Tasks waiting on the Fetcher's semaphores cost little, but not nothing: bounded.
        self._max_in_flight = max_in_flight or max(8, self._settings.concurrency * 2)
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._host_of: dict[int, str] = {}  # host of each source in flight
        self._per_host = Counter[str]()  # polls in flight per host
        self._host_share = 2 * self._settings.per_host  # the most one host may hold
        self._picking = asyncio.Lock()
        self._backlog = False
        self._refill: asyncio.Task[int] | None = None
        self._stopped = False
        self._idle = asyncio.Event()
        self._idle.set()
        # One thread: parsing holds the GIL anyway, and every extra thread costs a malloc
        # arena (measured: the default pool added ~28 MB of RSS to 1,000 sources).
        self._extractor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
        self.polls = 0  # polls finished (any outcome), for benchmarks and logs

    @property
    def in_flight(self) -> frozenset[int]:
        """Ids of the sources being polled now."""
        return frozenset(self._in_flight)

    def start(self) -> None:
        """Add the poll tick and the daily prune to the scheduler."""
        now = datetime.now(UTC)
        self._runtime.scheduler.add_job(
            self._scheduled,
            "interval",
            args=[self.run_once],
            seconds=self._tick,
            id="bulletin-poll",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=now,
            replace_existing=True,
        )
        self._runtime.scheduler.add_job(
            self._scheduled,
            "interval",
            args=[self.prune],
            seconds=PRUNE_EVERY.total_seconds(),
            id="bulletin-prune",
            coalesce=True,
            max_instances=1,
            next_run_time=now + PRUNE_FIRST,
            replace_existing=True,
        )

    async def _scheduled(self, job: Callable[[], Awaitable[object]]) -> None:
        """Run JOB for the scheduler. Shutting the scheduler down cancels a job caught mid-await,
        and APScheduler logs that as the job failing, traceback and all: a stop is no failure."""
        try:
            await job()
        except asyncio.CancelledError:
            if self._runtime.scheduler.running:
                raise
            log.debug("%s cut short by the shutdown", getattr(job, "__name__", job))

    async def run_once(self) -> int:
        """Start polls of the sources due now (those not already in flight); how many."""
        if self._stopped:
            return 0
        async with self._picking:
            room = self._max_in_flight - len(self._in_flight)
            if room <= 0:
                self._backlog = True
                return 0
            now = self._clock()
            limit = room + len(self._in_flight)
            try:
                due = await self._store.due_sources(now, limit)
                fresh, skipped = self._pick(due, room)
                if skipped and len(fresh) < room and len(due) == limit:
                    # the first due sources were mostly of busy hosts: look further
                    due = await self._store.due_sources(now, limit + 4 * self._max_in_flight)
                    fresh, skipped = self._pick(due, room)
            except Exception:
                log.exception("cannot read the due sources; trying again at the next tick")
                return 0
            self._backlog = len(fresh) >= room
            started = 0
            for source, host in fresh:
                if self._stopped:
                    break
                task = asyncio.create_task(self._guarded(source), name=f"poll {source.url}")
                self._in_flight[source.id] = task
                self._host_of[source.id] = host
                self._per_host[host] += 1
                self._idle.clear()
                task.add_done_callback(lambda _t, sid=source.id: self._finished(sid))
                started += 1
            return started

    def _pick(
        self, due: Sequence[SourceRecord], room: int
    ) -> tuple[list[tuple[SourceRecord, str]], int]:
        """Up to ROOM due sources not in flight, none of a host that holds its share already;
        with each its host, and how many were passed over for their host."""
        load = Counter(self._per_host)
        fresh: list[tuple[SourceRecord, str]] = []
        skipped = 0
        for source in due:
            if len(fresh) >= room:
                break
            if source.id in self._in_flight:
                continue
            host = _host(source.url)
            if load[host] >= self._host_share:
                skipped += 1
                continue
            load[host] += 1
            fresh.append((source, host))
        return fresh, skipped

    def _finished(self, source_id: int) -> None:
        self._in_flight.pop(source_id, None)
        host = self._host_of.pop(source_id, None)
        if host is not None:
            self._per_host[host] -= 1
            if self._per_host[host] <= 0:
                del self._per_host[host]
        self.polls += 1
        if not self._in_flight:
            self._idle.set()
        # A full pick left sources waiting: pick again once half the room is free.
        if (
            self._backlog
            and not self._stopped
            and len(self._in_flight) <= self._max_in_flight // 2
            and (self._refill is None or self._refill.done())
        ):
            self._refill = asyncio.create_task(self.run_once(), name="poll refill")

    async def wait_idle(self) -> None:
        """Wait until no poll is in flight (tests, benchmarks)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Stop picking and cancel the polls in flight; returns when they are gone."""
        self._stopped = True
        tasks = list(self._in_flight.values())
        if self._refill is not None:
            tasks.append(self._refill)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._extractor.shutdown(wait=False, cancel_futures=True)

    async def prune(self) -> None:
        retention = timedelta(days=self._settings.retention_days)
        try:
            await self._store.prune(self._clock(), retention)
        except Exception:
            log.exception("pruning failed; trying again tomorrow")

    async def _guarded(self, source: SourceRecord) -> None:
        try:
            await self.poll_source(source)
        except asyncio.CancelledError:
            raise
        except sqlite3.OperationalError as error:
            # The database, not the source (locked past busy_timeout, disk full): nothing of
            # this poll was written, so the source is still due and the next tick retries it.
            log.error(
                "%s: poll not recorded, the database failed (%s); retrying at the next tick",
                source.url,
                error,
            )
        except Exception:
            # poll_source records failures itself; this is the store failing underneath it
            log.exception("%s: poll could not be recorded", source.url)

    async def poll_source(self, source: SourceRecord) -> None:
        """Poll one source and record the outcome: changes, unchanged, or a failure."""
        now = self._clock()
        try:
            changed = await self._fetch_and_store(source, now)
        except (asyncio.CancelledError, sqlite3.OperationalError):
            raise  # a database failure is not the source's: counted as none of its failures
        except Exception as error:
            await self._failed(source, now, error)
            return
        if changed:
            self._runtime.delivery_wakeup.set()

    async def _fetch_and_store(self, source: SourceRecord, now: datetime) -> bool:
        """True when something was written to the outbox."""
        result = await self._fetcher.fetch(
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            previous_hash=source.body_hash,
        )
        changed = False
        current = source
        if result.body is None:  # 304, or the same body again: nothing to parse
            status = self._status(source, now)
            if not source.auto_paused and status is source.status:
                due = schedule.next_check(
                    now, interval=source.interval, status=status, rng=self._rng
                )
                if await self._store.record_unchanged(
                    source.id,
                    now=now,
                    next_check=due,
                    status=status,
                    etag=result.etag,
                    last_modified=result.last_modified,
                ):
                    return False  # the common case, in one statement
            await self._store.record_not_modified(
                source.id, now=now, etag=result.etag, last_modified=result.last_modified
            )
            if source.auto_paused:
                log.info("%s: answers again; resumed", source.url)
                changed = True
        else:
            # In a thread: a hostile page can cost up to a second of parsing, and the event
            # loop must keep serving every other source (and Discord) meanwhile.
            snapshot = await asyncio.get_running_loop().run_in_executor(
                self._extractor,
                partial(
                    extract,
                    result.body,
                    content_type=result.content_type,
                    url=result.final_url,
                    kind=source.kind,
                    selectors=_selectors(source),
                ),
            )
            changes = await self._store.apply_poll(
                source.id,
                snapshot,
                now=now,
                etag=result.etag,
                last_modified=result.last_modified,
                body_hash=result.body_hash,
            )
            if changes:
                log.debug("%s: %d change(s)", source.url, len(changes))
            changed = bool(changes) or source.auto_paused
            current = await self._store.get_source(source.id)
        status = self._status(current, now)
        due = schedule.next_check(now, interval=current.interval, status=status, rng=self._rng)
        # The first poll that finds something is a baseline: it posts nothing but the key
        # points (rule 2), so the status it finds is stored silently.
        baseline = source.baseline_at is None and current.baseline_at is not None
        status_change = await self._store.finish_poll(
            source.id, now=now, next_check=due, status=status, announce=not baseline
        )
        if status_change is not None:
            log.info("%s: status %s → %s", source.url, status_change.previous, status)
            changed = True
        return changed

    @staticmethod
    def _status(source: SourceRecord, now: datetime) -> StoryStatus:
        return schedule.story_status(
            now,
            last_update_at=source.last_update_at,
            since=source.baseline_at or source.created_at,
            coverage_end=source.coverage_end,
        )

    async def _failed(self, source: SourceRecord, now: datetime, error: Exception) -> None:
        if isinstance(error, BulletinError):
            message = str(error) or type(error).__name__
        else:
            # not one of ours: a bug or an unexpected library error; keep the traceback
            log.exception("%s: unexpected error while polling", source.url)
            message = f"internal error: {type(error).__name__}: {error}"
        pause_after = self._settings.pause_after_failures
        record = await self._store.record_failure(
            source.id, now=now, error=message, pause_after=pause_after
        )
        retry_after = error.delay if isinstance(error, RetryLater) else None
        plan = schedule.after_failure(
            now,
            failures=record.failures,
            interval=record.interval,
            pause_after=pause_after,
            rng=self._rng,
            retry_after=retry_after,
        )
        await self._store.finish_poll(source.id, now=now, next_check=plan.next_check)
        wait = (plan.next_check - now).total_seconds()
        if record.auto_paused and not source.auto_paused:
            log.warning(
                "%s: paused after %d failures in a row (%s); probing every 30 minutes",
                source.url,
                record.failures,
                message,
            )
            self._runtime.delivery_wakeup.set()
        else:
            log.warning(
                "%s: poll failed (%d in a row): %s; next try in %.0f s",
                source.url,
                record.failures,
                message,
                wait,
            )


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _selectors(source: SourceRecord) -> Selectors | None:
    if not source.selectors:
        return None
    return Selectors.from_mapping(source.selectors)


__all__ = ["Poller"]
