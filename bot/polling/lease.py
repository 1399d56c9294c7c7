"""Leases: which process of a fleet polls a due source.

The poller picks due sources, then claims them (`Leases.claim`): each is leased to one process
(`[polling] lease` seconds, 30 by default), and the others skip it. While its poll runs the
lease is renewed (`renew`, a job on the process's own scheduler, every third of the lease);
once recorded it is released. A process that dies stops renewing: its sources are taken over
when their leases expire, so each is late by at most the lease. A late holder whose lease was
taken over records nothing (the store refuses it: `LeaseLost`). On SQLite (one process) every
claim succeeds; the interface is the same.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler

from bot.store import DatabaseUnavailable, SourceRecord, Store

log = logging.getLogger(__name__)


def new_owner() -> str:
    """A name no other process (here or elsewhere, now or later) uses: host, pid, a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    """This process's leases on the sources it polls, in STORE."""

    def __init__(
        self,
        store: Store,
        *,
        seconds: float,
        clock: Callable[[], datetime] | None = None,
        owner: str | None = None,
    ) -> None:
        self._store = store
        self.length = timedelta(seconds=seconds)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.owner = owner or new_owner()

    async def claim(self, sources: Sequence[SourceRecord], now: datetime) -> set[int]:
        """Lease those of SOURCES that no other process holds: their ids."""
        if not sources:
            return set()
        try:
            claimed = await self._store.claim_sources(
                [source.id for source in sources],
                owner=self.owner,
                now=now,
                until=now + self.length,
            )
        except DatabaseUnavailable as error:
            # nothing was claimed, so nothing is polled: the sources stay due for the next tick
            log.error(
                "cannot claim the due sources: the database failed (%s); trying again at the "
                "next tick",
                error,
            )
            return set()
        return set(claimed)

    async def renew(self, source_ids: Collection[int]) -> None:
        """Renew the leases of the sources being polled (a scheduled job)."""
        if not source_ids:
            return
        wanted = sorted(source_ids)
        try:
            kept = await self._store.renew_leases(
                wanted, owner=self.owner, until=self._clock() + self.length
            )
        except Exception as error:  # the next renewal tries again
            # a lease that expires meanwhile is taken over
            log.warning("could not renew the leases of %d polls (%s)", len(wanted), error)
            return
        # Not renewed: recorded (released) meanwhile, or taken over; the latter is logged
        # when its poll's record is refused.
        log.debug("renewed %d of %d leases", len(kept), len(wanted))

    def start(self, scheduler: BaseScheduler, in_flight: Callable[[], Collection[int]]) -> None:
        """Renew the leases of the IN_FLIGHT sources every third of the lease."""
        scheduler.add_job(
            self._renew_in_flight,
            "interval",
            args=[in_flight, scheduler],
            seconds=max(self.length.total_seconds() / 3, 0.2),
            id="bulletin-lease-renewal",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            replace_existing=True,
        )

    async def _renew_in_flight(
        self, in_flight: Callable[[], Collection[int]], scheduler: BaseScheduler
    ) -> None:
        try:
            await self.renew(list(in_flight()))
        except asyncio.CancelledError:
            # cut short by the scheduler's shutdown: a stop, not a failed job (APScheduler
            # would log it with a traceback)
            if scheduler.running:
                raise


__all__ = ["Leases", "new_owner"]
