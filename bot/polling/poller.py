"""The poll cycle: which sources are due, fetching them, and recording what each poll found.

APScheduler drives it: an interval job (every `tick` seconds, coalesced, one instance at a time)
picks the sources whose next check has come (`Store.due_sources`; the due times live in the
database, with jitter from `bot.schedule`) and starts one task per source, at most
`max_in_flight` at once; the Fetcher bounds the fetches themselves (overall and per host). A
host holds at most twice `per_host` of those places (its fetches and as many queued behind
them), so the sources of one slow host cannot fill them all; the rest of its due sources wait
in the database for a later pick. When a pick was full, a finished poll picks again at once,
so a backlog drains faster than one tick a second. A source is never polled twice at once
(the in-flight set), nor by two processes of a fleet: the picked sources are claimed under a
lease first (`bot.polling.lease`), and only those claimed are polled.

Each poll is isolated: whatever goes wrong is recorded as a failure of that source alone, with
backoff (or the source's Retry-After), and after `pause_after_failures` in a row the source is
paused and probed every 30 minutes; the store writes "paused" and "resumed" alerts in the same
transactions, so moderators are told once each.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bot.model import AlertKind
from bot.polling.lease import Leases
from bot.polling.pipeline import (
    PollReport,
    read_source,
    record_failure,
    record_read,
    selectors_of,
)
from bot.runtime import Runtime
from bot.store import LeaseLost, SourceRecord, StalePoll

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
        self._leases = Leases(runtime.store, seconds=self._settings.lease, clock=self._clock)
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
        self._leases.start(self._runtime.scheduler, lambda: self._in_flight)

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
                claimed = await self._leases.claim([source for source, _ in fresh], now)
                fresh = [(source, host) for source, host in fresh if source.id in claimed]
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
                task.add_done_callback(functools.partial(self._finished, source.id))
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

    def _finished(self, source_id: int, _task: asyncio.Task[None]) -> None:
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
        tasks: list[asyncio.Task[object]] = list(self._in_flight.values())
        if self._refill is not None:
            tasks.append(self._refill)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
        except LeaseLost:
            log.warning(
                "%s: this poll was too slow: its lease was taken over by another process, "
                "which polls the source instead; nothing of it is recorded",
                source.url,
            )
        except StalePoll:
            # another poll of it was recorded meanwhile (a moderator's /source add): it holds
            log.debug("%s: polled meanwhile; this poll is not recorded", source.url)
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
        started = time.perf_counter()
        try:
            read = await read_source(
                self._fetcher,
                self._runtime.extractor,
                source.url,
                kind=source.kind,
                selectors=selectors_of(source),
                etag=source.etag,
                last_modified=source.last_modified,
                previous_hash=source.body_hash,
            )
        except (asyncio.CancelledError, sqlite3.OperationalError):
            raise  # a database failure is not the source's: counted as none of its failures
        except Exception as error:
            report = await record_failure(
                self._store,
                source,
                error,
                now=now,
                rng=self._rng,
                pause_after=self._settings.pause_after_failures,
                lease=self._leases.owner,
            )
            self._log_failure(source, report, now)
            self._observed(source, report, started, size=0)
            if report.alert is not None:
                self._runtime.delivery_wakeup.set()
            return
        report = await record_read(
            self._store, source, read, now=now, rng=self._rng, lease=self._leases.owner
        )
        self._observed(source, report, started, size=read.fetched.size)
        if report.changes:
            log.debug("%s: %d change(s)", source.url, len(report.changes))
        if report.alert is AlertKind.SOURCE_RESUMED:
            log.info("%s: answers again; resumed", source.url)
        if report.status_change is not None:
            log.info("%s: status %s → %s", source.url, *report.status_change)
        if report.queued or report.alert is not None:
            self._runtime.delivery_wakeup.set()

    def _observed(
        self, source: SourceRecord, report: PollReport, started: float, *, size: int
    ) -> None:
        self._runtime.observer.polled(
            source.id,
            report.outcome,
            seconds=time.perf_counter() - started,
            size=size,
            changes=report.changes,
            status_moved=report.status_change is not None,
            error=report.error,
        )

    @staticmethod
    def _log_failure(source: SourceRecord, report: PollReport, now: datetime) -> None:
        if report.alert is AlertKind.SOURCE_PAUSED:
            log.warning(
                "%s: paused after %d failures in a row (%s); probing every 30 minutes",
                source.url,
                report.failures,
                report.error,
            )
        else:
            log.warning(
                "%s: poll failed (%d in a row): %s; next try in %.0f s",
                source.url,
                report.failures,
                report.error,
                (report.next_check - now).total_seconds(),
            )


@contextlib.asynccontextmanager
async def polling(runtime: Runtime) -> AsyncIterator[Poller]:
    """Poll (and prune) on the runtime's scheduler for as long as the block runs; then stop
    cleanly: no tick starts any more, and polls in flight are cancelled (their transactions
    roll back, so nothing is half-written)."""
    poller = Poller(runtime)
    poller.start()
    runtime.scheduler.start()
    try:
        yield poller
    finally:
        if runtime.scheduler.running:
            # Paused first, so no tick is handed to the loop any more; then one turn of the
            # loop, so a tick already handed over has begun: the shutdown cancels it inside
            # the poller, which takes that as a stop. A tick cancelled before it begins is
            # logged by APScheduler as a failed job, traceback and all.
            runtime.scheduler.pause()
            await asyncio.sleep(0)
            runtime.scheduler.shutdown(wait=False)
        await poller.stop()


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


__all__ = ["Poller", "polling"]
