"""Drains the outbox: each pending delivery (and alert) goes to the sink of its target.

Rows are handed over in id order, so one subscription sees its changes in the order they were
made; a row is marked sent only after its sink returned, so a crash re-sends at most the row in
flight (Discord's nonce makes that harmless there). A failed send is retried with exponential
backoff and jitter; the store holds later rows of that subscription back meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from bot.delivery.sinks import SendFailed, Sink
from bot.store import Alert, Delivery, Store

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # look at the outbox at least this often, even without a wakeup
BATCH = 100
RETRY_BASE = 2.0
RETRY_CAP = 600.0
MAX_ATTEMPTS = 20  # then the row is kept as undeliverable


def retry_delay(attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
    """Seconds before the next try after ATTEMPTS failed ones (1 = the first failure)."""
    ceiling = min(RETRY_CAP, RETRY_BASE * 2.0 ** min(max(attempts, 1) - 1, 16))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


class Dispatcher:
    """Sends what the outbox holds to `sinks` ({target: sink}, e.g. {"console": ConsoleSink()}).

    Alerts for the config's stories (no server) go to the "console" sink, or to the log when
    there is none; alerts for a server go to the "discord" sink.
    """

    def __init__(
        self,
        store: Store,
        sinks: Mapping[str, Sink],
        *,
        wakeup: asyncio.Event | None = None,
        idle: float = IDLE_SECONDS,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._sinks = dict(sinks)
        self._wakeup = wakeup or asyncio.Event()
        self._idle = idle
        self._clock = clock or (lambda: datetime.now(UTC))
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()  # one drain at a time, so no row is sent twice

    @property
    def wakeup(self) -> asyncio.Event:
        return self._wakeup

    async def drain(self) -> int:
        """Send everything due now; returns how many rows went out."""
        async with self._lock:
            return await self._drain()

    async def _drain(self) -> int:
        sent = 0
        while True:
            now = self._clock()
            alerts = await self._store.pending_alerts(
                now, BATCH, console=True, guilds="discord" in self._sinks
            )
            for alert in alerts:
                sent += await self._send_alert(alert)
            # Sinks that take a whole batch (Discord: per-channel batching, claimed nonces,
            # throttled edits) get their rows at once and keep their own order and retries.
            full = False
            for target, sink in self._sinks.items():
                deliver = getattr(sink, "deliver", None)
                if deliver is None:
                    continue
                rows = await self._store.pending_deliveries(now, BATCH * 10, targets=(target,))
                if rows:
                    sent += await deliver(rows)
                    full = full or len(rows) >= BATCH * 10
            row_targets = [t for t, s in self._sinks.items() if not hasattr(s, "deliver")]
            deliveries = (
                await self._store.pending_deliveries(now, BATCH, targets=row_targets)
                if row_targets
                else []
            )
            held: set[int] = set()
            for delivery in deliveries:
                if delivery.subscription_id in held:
                    continue  # an earlier row of it failed: keep the order, wait for it
                if not await self._send(delivery):
                    held.add(delivery.subscription_id)
                else:
                    sent += 1
            if len(deliveries) < BATCH and len(alerts) < BATCH and not full:
                return sent

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, then wait for a wakeup (or `idle` seconds), until STOP is set."""
        while not stop.is_set():
            self._wakeup.clear()
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                # a database hiccup must not end delivery for good; try again shortly
                log.exception("delivery round failed; retrying in %.0f s", self._idle)
            waiters = [
                asyncio.ensure_future(self._wakeup.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            try:
                await asyncio.wait(waiters, timeout=self._idle, return_when="FIRST_COMPLETED")
            finally:
                for waiter in waiters:
                    waiter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiter

    async def _send(self, delivery: Delivery) -> int:
        sink = self._sinks[delivery.target]
        try:
            message_id = await sink.send(delivery)
        except SendFailed as failure:
            await self._failed_delivery(delivery, failure)
            return 0
        except Exception as error:
            # a sink's bug must not block the outbox: retried with backoff like a failure
            log.exception("sink %s failed on delivery %d", delivery.target, delivery.id)
            await self._failed_delivery(delivery, SendFailed(f"{type(error).__name__}: {error}"))
            return 0
        await self._store.mark_sent(delivery.id, message_id, now=self._clock())
        return 1

    async def _failed_delivery(self, delivery: Delivery, failure: SendFailed) -> None:
        where = f"delivery {delivery.id} of {delivery.story_name!r} to {delivery.target}"
        attempts = delivery.attempts + 1
        if failure.permanent or attempts >= MAX_ATTEMPTS:
            log.warning("%s cannot be sent: %s", where, failure)
            await self._store.mark_undeliverable(delivery.id, error=str(failure))
            return
        delay = retry_delay(attempts, self._rng, failure.retry_after)
        log.info("%s failed (%s); retrying in %.0f s", where, failure, delay)
        await self._store.mark_retry(
            delivery.id,
            error=str(failure),
            next_attempt=self._clock() + timedelta(seconds=delay),
        )

    async def _send_alert(self, alert: Alert) -> int:
        target = "console" if alert.guild_id is None else "discord"
        sink = self._sinks.get(target)
        if sink is None:
            # no console (Discord mode): the operator reads it in the log instead
            log.warning("source %s: %s", alert.source_url, alert.kind.replace("_", " "))
            await self._store.mark_alert_sent(alert.id, None, now=self._clock())
            return 1
        try:
            message_id = await sink.send_alert(alert)
        except SendFailed as failure:
            attempts = alert.attempts + 1
            if failure.permanent or attempts >= MAX_ATTEMPTS:
                await self._store.mark_alert_undeliverable(alert.id, error=str(failure))
            else:
                delay = retry_delay(attempts, self._rng, failure.retry_after)
                await self._store.mark_alert_retry(
                    alert.id,
                    error=str(failure),
                    next_attempt=self._clock() + timedelta(seconds=delay),
                )
            return 0
        await self._store.mark_alert_sent(alert.id, message_id, now=self._clock())
        return 1
