"""Drains the outbox: every due row goes to the sink of its target, once, in order.

One subscription's rows form a lane, sent in the order they were written: the sink plans them
into messages, the dispatcher claims each message's rows (so that after a crash the same
message goes again under the same nonce), sends it, and records the outcome. A retry holds the
lane (order is kept); a pause stops it. Lanes run side by side, at most `concurrency` at once.

The dispatcher owns every state change: a sink only returns an outcome. A `Retry` gets its
time here, from one backoff with jitter (honouring what the far end asked), and after
`MAX_ATTEMPTS` a row is given up (kept, not dropped). A subscription in thread mode without
its thread gets a starter row first. Every attempt lands in the delivery history.

Several processes on one database: only the holder of the store's delivery election drains
(`Store.delivery_election`: an advisory lock in PostgreSQL; an SQLite file's one process always
holds it), so the fleet's sends keep one rate and each lane its order. The others ask again
every `ELECTION_RETRY` seconds, and take over within that when the holder dies; rows they
write are announced to the holder, which is woken at once. A holder that sees its election
lost stops before its next send; what it had claimed goes again from the new holder under the
same nonces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.delivery.sinks import Sink, Unit
from bot.model import DeliveryKind, FailureReason
from bot.observe import Observer
from bot.outcome import GivenUp, Outcome, Paused, Retry, Sent
from bot.store import Delivery, Store, SubscriptionRecord
from bot.store.election import Election

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # look at the outbox at least this often, even without a wakeup
BATCH = 1000  # rows read per round
ROUNDS = 10  # rounds per drain at most (a round may leave rows due at once: a new thread)
RETRY_BASE = 2.0
RETRY_CAP = 600.0
MAX_ATTEMPTS = 20  # then the row is given up
# Discord drops a message whose nonce it saw from us within "the past few minutes" (undocumented
# length): a resend later than this after its first try may post twice.
NONCE_WINDOW = timedelta(minutes=2)
ELECTION_RETRY = 2.0  # seconds between two asks for the delivery election by a process without it
# After taking the election over, wait one second of the rate's window: the previous holder's
# last sends and ours never share a second (each spaces its own sends at `rate`).
SETTLE_SECONDS = 1.0


def retry_delay(attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
    """Seconds before the next try after ATTEMPTS failed ones (1 = the first failure)."""
    ceiling = min(RETRY_CAP, RETRY_BASE * 2.0 ** min(max(attempts, 1) - 1, 16))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


class Dispatcher:
    """Sends what the outbox holds to `sinks` ({target: sink}, e.g. {"console": ConsoleSink()});
    rows of a target without a sink wait. Each attempt's outcome is told to `observer`."""

    def __init__(
        self,
        store: Store,
        sinks: Mapping[str, Sink],
        *,
        wakeup: asyncio.Event | None = None,
        idle: float = IDLE_SECONDS,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        concurrency: int = 64,
        observer: Observer | None = None,
        election: Election | None = None,
    ) -> None:
        self._store = store
        # None: the store's own candidate (always held on SQLite)
        self._election = election or store.delivery_election()
        self._delivering = False  # as last seen, for the log
        self._observer = observer or Observer()
        self._sinks = dict(sinks)
        self._wakeup = wakeup or asyncio.Event()
        # rows another process of the fleet wrote: it announces them, and this one, if it
        # delivers, is woken (asyncpg calls its listeners on the event loop)
        self._election.on_announcement(self._wakeup.set)
        self._idle = idle
        self._clock = clock or (lambda: datetime.now(UTC))
        self._rng = rng or random.Random()
        self._lanes = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()  # one drain at a time, so no row is sent twice

    @property
    def wakeup(self) -> asyncio.Event:
        return self._wakeup

    @property
    def delivering(self) -> bool:
        """Does this process hold the delivery election (as far as it knows)?"""
        return self._election.held

    async def drain(self) -> int:
        """Send everything due now, if this process holds the delivery election (it asks for
        it when it does not); the number of rows delivered."""
        async with self._lock:
            delivered = 0
            for _ in range(ROUNDS):
                if not await self._elected():
                    break
                rows = await self._store.pending_deliveries(
                    self._clock(), BATCH, targets=self._sinks
                )
                if not rows:
                    break
                lanes = _lanes(rows)
                # moderators hear first what is wrong (alerts), then the rest goes out
                alerts = [lane for lane in lanes if lane[0].subscription_id is None]
                others = [lane for lane in lanes if lane[0].subscription_id is not None]
                done = [
                    *await asyncio.gather(*(self._guarded(lane) for lane in alerts)),
                    *await asyncio.gather(*(self._guarded(lane) for lane in others)),
                ]
                delivered += sum(sent for sent, _ in done)
                if not any(recorded for _, recorded in done) and len(rows) < BATCH:
                    break
            return delivered

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, then wait for a wakeup (or `idle` seconds), until STOP is set; without the
        delivery election, ask for it every `ELECTION_RETRY` seconds instead. At the end the
        election is given up, so that another process takes it at once."""
        try:
            while not stop.is_set():
                self._wakeup.clear()
                taken = not self._election.held
                # confirmed at every round (a round trip: a server gone silent is noticed)
                if not await self._campaign():
                    await _wait(stop, self._wakeup, seconds=ELECTION_RETRY)
                    if self._wakeup.is_set():
                        await self._election.announce()  # rows written here: for the deliverer
                    continue
                if taken:
                    await _wait(stop, seconds=SETTLE_SECONDS)
                    continue
                try:
                    await self.drain()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # a database hiccup must not end delivery for good; try again shortly
                    log.exception("delivery round failed; retrying in %.0f s", self._idle)
                await _wait(stop, self._wakeup, seconds=self._idle)
        finally:
            await self._election.resign()

    async def _elected(self) -> bool:
        """Held, as known without asking (the usual case), or taken now."""
        return self._election.held or await self._campaign()

    async def _campaign(self) -> bool:
        held = await self._election.campaign()
        if held != self._delivering:
            self._delivering = held
            if held:
                log.info("this process delivers the outbox now (it holds the delivery election)")
            else:
                log.warning("this process no longer delivers: it lost the delivery election")
        return held

    async def _guarded(self, rows: list[Delivery]) -> tuple[int, bool]:
        async with self._lanes:
            try:
                return await self._lane(rows)
            except asyncio.CancelledError:
                raise
            except Exception:
                # the store failing under one lane must not stop the others
                log.exception("delivery to subscription %s failed", rows[0].subscription_id)
                return 0, False

    async def _lane(self, rows: list[Delivery]) -> tuple[int, bool]:
        """Deliver one lane in order: (rows delivered, whether anything was recorded)."""
        sink = self._sinks[rows[0].target]
        sub = None
        if rows[0].subscription_id is not None:
            sub = await self._store.get_subscription(rows[0].subscription_id)
            if sub is None or sub.paused_at is not None:
                return 0, False
            rows = await self._with_starter(sub, rows)
        units = sink.plan(rows, sub)
        delivered = 0
        claimed: set[int] = set()  # runs claimed in this drain
        for index, unit in enumerate(units):
            if unit.skip:
                pass
            elif unit.rows[0].batch is not None:
                self._note_resend(unit)  # claimed before this drain and never failed: in flight
            elif unit.run not in claimed:
                # a run's messages are claimed together: after a crash the same messages (and
                # their "and K more") go again under the same nonces
                claimed.add(unit.run)
                run = [u for u in units[index:] if u.run == unit.run and not u.skip]
                await self._store.claim([(u.ids, u.nonce, u.more) for u in run], now=self._clock())
            if not self._election.held:
                # another process may deliver now: it resends what was claimed here
                log.debug(
                    "delivery election lost; subscription %s waits", unit.rows[0].subscription_id
                )
                break
            later = [row for following in units[index + 1 :] for row in following.rows]
            outcome = await self._send(sink, unit, sub, later)
            await self._store.record_delivery(unit.rows, outcome, now=self._clock())
            self._observer.delivered(outcome.outcome, len(unit.rows))
            self._log(unit, sub, outcome)
            if isinstance(outcome, Sent):
                delivered += len(unit.rows)
            if isinstance(outcome, Paused) or (isinstance(outcome, Retry) and outcome.holds):
                break  # later rows wait: order is kept
            if sub is not None and isinstance(outcome, Sent | Retry) and outcome.effects:
                sub = await self._store.get_subscription(sub.id) or sub
        return delivered, True

    async def _with_starter(self, sub: SubscriptionRecord, rows: list[Delivery]) -> list[Delivery]:
        """A thread-mode subscription without its thread starts one first."""
        needs = sub.thread and sub.thread_id is None and rows[0].target == "discord"
        if needs and not any(row.kind is DeliveryKind.STARTER for row in rows):
            starter = await self._store.queue_starter(sub.id, now=self._clock())
            if starter is not None:
                rows = [starter, *rows]
        return sorted(rows, key=lambda row: (row.kind is not DeliveryKind.STARTER, row.id))

    async def _send(
        self, sink: Sink, unit: Unit, sub: SubscriptionRecord | None, later: Sequence[Delivery]
    ) -> Outcome:
        try:
            outcome = await sink.send(unit, sub, later)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # a sink's bug must not block the outbox: retried with backoff like a failure
            log.exception("sink %s failed on delivery %d", unit.rows[0].target, unit.rows[0].id)
            outcome = Retry(FailureReason.INTERNAL, f"{type(error).__name__}: {error}")
        if not isinstance(outcome, Retry):
            return outcome
        attempts = unit.rows[0].attempts + int(outcome.counted)
        if outcome.counted and attempts >= MAX_ATTEMPTS:
            return GivenUp(outcome.reason, f"{outcome.detail} ({attempts} attempts)")
        if outcome.at is not None:
            return outcome
        delay = retry_delay(attempts, self._rng, outcome.after)
        return replace(outcome, at=self._clock() + timedelta(seconds=delay))

    def _note_resend(self, unit: Unit) -> None:
        """A unit claimed before this drain and never failed was in flight when the process
        stopped: it goes again under its nonce. Past Discord's nonce window that no longer
        prevents a second copy, if the first did go out: say so."""
        first = unit.rows[0]
        if first.batch is None or first.attempts or first.deferred or first.next_attempt is None:
            return
        age = self._clock() - first.next_attempt
        where = f"guild {first.guild_id}: subscription {first.subscription_id}"
        if age > NONCE_WINDOW:
            log.warning(
                "%s: resending a message claimed %d minutes ago, past Discord's nonce window; "
                "if it went out before the restart, it appears twice",
                where,
                age.total_seconds() // 60,
            )
        else:
            log.info("%s: resending a message in flight under its nonce", where)

    @staticmethod
    def _log(unit: Unit, sub: SubscriptionRecord | None, outcome: Outcome) -> None:
        first = unit.rows[0]
        where = f"guild {first.guild_id}: {first.kind.value} delivery {first.id}"
        if sub is not None:
            where += f" to channel {sub.channel_id}"
        match outcome:
            case Retry(reason=reason, detail=detail, at=at) if outcome.counted:
                log.info("%s failed (%s: %s); retrying at %s", where, reason, detail, at)
            case Paused(reason=reason, detail=detail):
                log.warning("%s: subscription paused (%s: %s)", where, reason, detail)
            case GivenUp(reason=reason, detail=detail):
                log.warning("%s cannot be sent (%s: %s); kept as given up", where, reason, detail)


async def _wait(stop: asyncio.Event, *events: asyncio.Event, seconds: float) -> None:
    """Until STOP or one of EVENTS is set, or SECONDS pass."""
    waiters = [asyncio.ensure_future(event.wait()) for event in (stop, *events)]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when="FIRST_COMPLETED")
    finally:
        for waiter in waiters:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter


def _lanes(rows: Sequence[Delivery]) -> list[list[Delivery]]:
    """One lane per subscription (its rows in order), and one per alert."""
    lanes: dict[object, list[Delivery]] = {}
    for row in rows:
        key = ("sub", row.subscription_id) if row.subscription_id is not None else ("row", row.id)
        lanes.setdefault(key, []).append(row)
    return list(lanes.values())
