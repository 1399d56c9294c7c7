"""The poll cycle: which sources are due, fetching them, and recording what each poll found.

APScheduler drives it: an interval job (every `tick` seconds, coalesced, one instance at a time)
reads the sources whose next check has come (`Store.due_sources`, one indexed query; the due
times live in the database, with jitter from `bot.schedule`) into a queue per host
(`HostQueues`). From there a poll starts whenever its host has fewer than `per_host` fetches in
flight and fewer than `max_in_flight` polls run in all: as soon as a fetch ends, the next source
of its host starts, and as soon as a poll ends, the next source of any host. Hosts take turns, so
a backlog of one host never delays another. Nothing else bounds a host's pace but an explicit
`per_host_rate`, when set (a host then rests between two starts; a timer wakes it).

A read goes on from the last source it read (the due times and ids are an index's order), so the
sources already queued are not read again; once nothing is queued or polling (and every minute),
a read starts from the beginning again, which finds any source made due behind that mark (a
resumed story, a poll the database failed to record). At most `8 × max_in_flight` sources wait in
memory; when a read was full, a finished poll reads on at once. A source is never polled twice
at once (the held set), nor by two processes of a fleet: the sources read are claimed under
a lease first (`bot.polling.lease`, renewed while they wait and poll), and only those claimed
are queued.

A fetched document then waits for one of `READING_AT_ONCE` turns to be read (in the extraction
thread) and recorded: when fetches outrun the reading, the others wait as the bytes fetched, not
as the snapshots parsed from them. An answer without a document (a 304, the same body) takes no
turn; its record is written together with others'.

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
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.model import AlertKind
from bot.polling.hosts import HostQueues, host_of
from bot.polling.lease import Leases
from bot.polling.pipeline import (
    PollReport,
    read_fetched,
    record_failure,
    record_read,
    selectors_of,
)
from bot.runtime import Runtime
from bot.store import UNAVAILABLE, LeaseLost, SourceRecord, StalePoll

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
HOLD_FACTOR = 8
READING_AT_ONCE = 8
READ_FROM_START_EVERY = timedelta(minutes=1)
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
        # Polls in flight: fetching, or reading and recording what they fetched. No poll
        # waits for a fetch slot any more (the host queues hold them back), so `concurrency`
        # of them keep the fetches busy; more would only hold bodies waiting to be read.
        self._max_in_flight = max_in_flight or max(8, self._settings.concurrency)
        self._hold = HOLD_FACTOR * self._max_in_flight  # due sources kept in memory at most
        # Fetched documents read and recorded at once, at most: when fetches outrun the
        # reading thread and the store, the others wait as bytes, not as the snapshots parsed
        # from them (several times larger). A few keep both the thread and the store busy.
        self._turns = asyncio.Semaphore(READING_AT_ONCE)
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._held: set[int] = set()  # waiting in a queue or polling: never read in twice
        self._queues = HostQueues(self._settings.per_host, rate=self._settings.per_host_rate)
        self._wake: asyncio.TimerHandle | None = None  # when a host resting for its rate may go
        self._wake_when = 0.0
        self._reading = asyncio.Lock()
        self._after: tuple[datetime, int] | None = None  # where the next read goes on from
        self._read_from_start = datetime.min.replace(tzinfo=UTC)
        self._more_due = False
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

    @property
    def lease_owner(self) -> str:
        """The name this process's leases on sources are held under."""
        return self._leases.owner

    @property
    def waiting(self) -> int:
        """Due sources read and waiting for their host (or for room among the polls)."""
        return len(self._queues)

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
        self._leases.start(self._runtime.scheduler, lambda: self._held)

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
        """Read the sources due now into their hosts' queues and start the polls that may
        start; how many started."""
        if self._stopped:
            return 0
        async with self._reading:
            room = self._hold - len(self._held)
            if room <= 0:
                self._more_due = True
                return 0
            now = self._clock()
            if self._after is not None and now - self._read_from_start >= READ_FROM_START_EVERY:
                self._after = None
            if self._after is None:
                self._read_from_start = now
            try:
                due = await self._store.due_sources(now, room, after=self._after)
                fresh = [source for source in due if source.id not in self._held]
                claimed = await self._leases.claim(fresh, now)
            except Exception:
                log.exception("cannot read the due sources; trying again at the next tick")
                return 0
            self._more_due = len(due) >= room
            if due:
                self._after = (due[-1].next_check, due[-1].id)
            if fresh and not claimed:
                # taken by other processes, or the claim failed: read from the start next time
                self._after = None
            for source in fresh:  # (a read from the start also finds those held already)
                if source.id in claimed:
                    self._held.add(source.id)
                    self._queues.add(source, host_of(source.url))
            return self._start_ready()

    def _start_ready(self) -> int:
        """Start polls while there is room and a host with a free place has a source waiting."""
        started = 0
        self._queues.rested_until()  # hosts whose rest for the rate is over take their turns
        while not self._stopped and len(self._in_flight) < self._max_in_flight:
            taken = self._queues.take()
            if taken is None:
                break
            source, host = taken
            fetch_ended = _Once(functools.partial(self._fetch_ended, host))
            task = asyncio.create_task(
                self._guarded(source, fetch_ended), name=f"poll {source.url}"
            )
            self._in_flight[source.id] = task
            self._idle.clear()
            task.add_done_callback(functools.partial(self._finished, source.id, fetch_ended))
            started += 1
        self._wake_at(self._queues.rested_until())
        return started

    def _wake_at(self, until: float | None) -> None:
        """Start polls again at UNTIL (time.monotonic), when a host resting for its rate may
        go, unless a wake-up as early is due already."""
        if until is None or self._stopped:
            return
        if self._wake is not None:
            if self._wake_when <= until:
                return
            self._wake.cancel()
        self._wake_when = until
        delay = max(0.0, until - time.monotonic())
        self._wake = asyncio.get_running_loop().call_later(delay, self._woken)

    def _woken(self) -> None:
        self._wake = None
        self._start_ready()

    def _fetch_ended(self, host: str) -> None:
        self._queues.fetched(host)
        self._start_ready()

    def _finished(self, source_id: int, fetch_ended: _Once, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(source_id, None)
        self._held.discard(source_id)
        self.polls += 1
        fetch_ended()  # a poll that ended before its fetch did (cancelled, or failed early)
        self._start_ready()
        if not self._held:
            self._after = None  # nothing queued: the next read starts from the beginning
            if not self._in_flight:
                self._idle.set()
        # A full read left due sources in the database: read on once half the room is free.
        if (
            self._more_due
            and not self._stopped
            and len(self._held) <= self._hold // 2
            and (self._refill is None or self._refill.done())
        ):
            self._refill = asyncio.create_task(self.run_once(), name="poll refill")

    async def wait_idle(self) -> None:
        """Wait until no poll is in flight and no due source waits (tests, benchmarks)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Stop picking and cancel the polls in flight; returns when they are gone."""
        self._stopped = True
        if self._wake is not None:
            self._wake.cancel()
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

    async def _guarded(self, source: SourceRecord, fetch_ended: Callable[[], None]) -> None:
        try:
            await self.poll_source(source, fetch_ended=fetch_ended)
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
        except UNAVAILABLE as error:
            # The database, not the source (locked past busy_timeout, disk full): nothing of
            # this poll was written, so the source is still due, and a read from the start
            # (once nothing waits, or within a minute) finds it again.
            log.error(
                "%s: poll not recorded, the database failed (%s); retrying within a minute",
                source.url,
                error,
            )
        except Exception:
            # poll_source records failures itself; this is the store failing underneath it
            log.exception("%s: poll could not be recorded", source.url)

    async def poll_source(
        self, source: SourceRecord, *, fetch_ended: Callable[[], None] | None = None
    ) -> None:
        """Poll one source and record the outcome: changes, unchanged, or a failure.
        FETCH_ENDED is called once the fetch is over (before the reading and recording)."""
        now = self._clock()
        started = time.perf_counter()
        try:
            try:
                fetched = await self._fetcher.fetch(
                    source.url,
                    etag=source.etag,
                    last_modified=source.last_modified,
                    previous_hash=source.body_hash,
                )
            finally:
                if fetch_ended is not None:
                    fetch_ended()
        except UNAVAILABLE:
            raise  # a database failure is not the source's: counted as none of its failures
        except Exception as error:
            await self._failed(source, error, now, started)
            return
        # A document waits for its turn to be read and recorded; an answer without one (304,
        # the same body) needs none, and is written together with others (`store.answers`).
        async with self._turns if fetched.body is not None else contextlib.nullcontext():
            try:
                read = await read_fetched(
                    self._runtime.extractor,
                    fetched,
                    source.url,
                    kind=source.kind,
                    selectors=selectors_of(source),
                )
            except UNAVAILABLE:
                raise
            except Exception as error:
                await self._failed(source, error, now, started)
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

    async def _failed(
        self, source: SourceRecord, error: Exception, now: datetime, started: float
    ) -> None:
        """Record a poll whose fetch or reading failed: the source's failure, with backoff."""
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


class _Once:
    """Calls its function the first time it is called, never again."""

    __slots__ = ("_function",)

    def __init__(self, function: Callable[[], None]) -> None:
        self._function: Callable[[], None] | None = function

    def __call__(self) -> None:
        function, self._function = self._function, None
        if function is not None:
            function()


__all__ = ["Poller", "polling"]
