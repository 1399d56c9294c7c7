"""Health and readiness: /healthz says the process's event loop answers; /readyz says whether
Bulletin can do its work now: the database answers, the scheduler runs and, on Discord, every
shard this process holds is connected.

The database is asked with `Store.ping` (could it take a write now?). A ping is never cut
short (SQLite must finish what it began); a readiness check waits for it at most `timeout`
seconds and says "not answering" past that, and while one ping is out no other starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from apscheduler.schedulers.base import STATE_RUNNING

from bot.runtime import Runtime

log = logging.getLogger(__name__)

OK = "ok"
PING_TIMEOUT = 2.0


class Health:
    """The readiness checks of one running Bulletin."""

    def __init__(self, runtime: Runtime, *, timeout: float = PING_TIMEOUT) -> None:
        self._runtime = runtime
        self._timeout = timeout
        self._ping: asyncio.Task[None] | None = None

    @property
    def discord(self) -> bool:
        """Whether Bulletin runs on Discord (then the gateway is checked too)."""
        return self._runtime.config.discord.token is not None

    async def checks(self) -> dict[str, str]:
        """{check: "ok" or what is wrong}: database, scheduler, and gateway on Discord."""
        found = {"database": await self._database(), "scheduler": self._scheduler()}
        if self.discord:
            found["gateway"] = self._gateway()
        return found

    async def _database(self) -> str:
        if self._ping is None or self._ping.done():
            self._ping = asyncio.create_task(self._runtime.store.ping(), name="readiness ping")
            self._ping.add_done_callback(_retrieve)
        try:
            await asyncio.wait_for(asyncio.shield(self._ping), self._timeout)
        except TimeoutError:
            return f"not answering (no answer within {self._timeout:g} s)"
        except asyncio.CancelledError:
            raise
        except Exception as error:
            return f"failing: {error}"
        return OK

    def _scheduler(self) -> str:
        scheduler = self._runtime.scheduler
        if not scheduler.running:
            return "not running"
        if scheduler.state != STATE_RUNNING:
            return "paused"
        return OK

    def _gateway(self) -> str:
        gateway = self._runtime.gateway
        if gateway is None:
            return "not started"
        shards = gateway.gateway_shards()
        down = [str(shard.id) for shard in shards if not shard.connected]
        if not gateway.holds_gateway():
            return OK  # a process that polls and delivers only: no shard to wait for
        if not shards:
            return "no shards"
        if down:
            return f"shard {', '.join(down)} not connected"
        return OK

    async def close(self) -> None:
        """Wait out a ping still in flight (it finishes on its own within SQLite's timeout)."""
        if self._ping is not None and not self._ping.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._ping), 10)


def _retrieve(task: asyncio.Task[None]) -> None:
    """A ping's failure is told by the check that waited for it; a late one is only logged."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("readiness ping failed: %s", task.exception())


__all__ = ["OK", "Health"]
