"""Unchanged polls recorded together, on either backend. Most polls find their source unchanged
(304, or the same body), and each writes one row: the source's. Written one by one, each costs
more in its trip to the database (a thread's hand-off on SQLite, a round trip on PostgreSQL),
its parsing and its commit than in the row it changes. So such records wait for the write in
progress (and, where a backend asks, a few milliseconds more) and then go together: one
statement for all, each row guarded as if alone (by its version, and its lease).

Each caller still learns its own fate: recorded, `StalePoll` or `LeaseLost`. A backend says how
a batch is written (`_write`: the ids of the rows it changed) and who holds the leases of the
rows it refused (`_owners`).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence

from bot.store.errors import StalePoll, refusal_of
from bot.store.poll_record import PollOutcome, PollRecord

BATCH_MAX = 256  # rows one statement writes at most


def combinable(record: PollRecord) -> bool:
    """A poll that found its source unchanged and writes nothing but the source's row."""
    return (
        record.outcome in (PollOutcome.NOT_MODIFIED, PollOutcome.UNCHANGED)
        and record.plan is None
        and not record.deliveries
        and not record.left_out
        and record.alert is None
        and record.siblings is None
    )


Waiting = tuple[PollRecord, "asyncio.Future[None]"]


class Answers(ABC):
    """The unchanged polls waiting to be written, and the writer of them. LINGER: seconds the
    writer waits, once a record arrives to an idle writer, for others to join it."""

    def __init__(self, *, linger: float = 0.0) -> None:
        self._linger = linger
        self._waiting: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, record: PollRecord) -> None:
        """Record one unchanged poll with whichever others come meanwhile."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # read by a caller that stopped waiting too (a cancelled poll): never "unretrieved"
        done.add_done_callback(lambda future: future.cancelled() or future.exception())
        self._waiting.append((record, done))
        if self._writer is None or self._writer.done():
            # a task of its own: a caller cancelled (a poll stopped) never strands the others
            self._writer = asyncio.create_task(self._write_all(), name="unchanged polls")
        await asyncio.shield(done)

    async def close(self) -> None:
        """Let what is waiting be written (the store is closing)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer

    @abstractmethod
    async def _write(self, records: Sequence[PollRecord]) -> set[int]:
        """Write RECORDS (one per source) in one statement; the ids of the sources written."""

    @abstractmethod
    async def _owners(self, source_ids: Sequence[int]) -> dict[int, str | None]:
        """The lease owner of each of SOURCE_IDS now."""

    async def _write_all(self) -> None:
        if self._linger:
            await asyncio.sleep(self._linger)
        while self._waiting:
            batch = self._take()
            try:
                recorded = await self._write([record for record, _ in batch])
                refused = [record for record, _ in batch if record.source_id not in recorded]
                reasons = await self._refusals(refused) if refused else {}
            except Exception as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for record, done in batch:
                if done.done():
                    continue
                reason = reasons.get(record.source_id)
                if reason is None:
                    done.set_result(None)
                else:
                    done.set_exception(reason)

    def _take(self) -> list[Waiting]:
        """Up to BATCH_MAX waiting records, one per source (a second poll of a source waits
        for the next statement, which then finds it stale or not, as alone)."""
        batch: list[Waiting] = []
        later: list[Waiting] = []
        sources: set[int] = set()
        for item in self._waiting:
            if len(batch) < BATCH_MAX and item[0].source_id not in sources:
                sources.add(item[0].source_id)
                batch.append(item)
            else:
                later.append(item)
        self._waiting = later
        return batch

    async def _refusals(self, refused: Sequence[PollRecord]) -> dict[int, StalePoll]:
        """Why each of REFUSED was: its lease is another's, or its version moved."""
        held = await self._owners([record.source_id for record in refused])
        return {
            record.source_id: refusal_of(record.source_id, record.lease, held.get(record.source_id))
            for record in refused
        }


__all__ = ["BATCH_MAX", "Answers", "combinable"]
