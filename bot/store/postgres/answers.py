"""Unchanged polls recorded together: most polls find their source unchanged (304, or the same
body), and each is one UPDATE of the source's row. Made one by one, each statement costs more
in round trips, parsing and commits than in the row it changes; so the records of such polls
that arrive while one is being written wait for it and then go together, one statement for all
(`UPDATE ... FROM unnest(...)`), each row guarded as alone (by its version, and its lease).

Each caller still learns its own fate: recorded, `StalePoll` or `LeaseLost`. The statement is
atomic, so a batch whose answer was lost happened for all of its rows or for none: which, is
read back from the rows (their version moved by one to this poll's time), as a lone poll's is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from bot.store.codec import to_us
from bot.store.errors import LeaseLost, StalePoll
from bot.store.poll_record import PollOutcome, PollRecord
from bot.store.postgres.database import Connection, Database, clean_or_none

BATCH_MAX = 256  # rows one statement writes at most

_UPDATE = (
    "UPDATE sources s SET lease_until = CASE WHEN u.lease IS NULL THEN s.lease_until END,"
    " version = s.version + 1, last_polled = u.now, failures = 0, auto_paused_at = NULL,"
    " auto_pause_reason = NULL, last_error = NULL, last_error_code = NULL,"
    " etag = coalesce(u.etag, s.etag), last_modified = coalesce(u.last_modified, s.last_modified),"
    " next_check = u.next_check, status = u.status"
    " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],"
    "  $6::bigint[], $7::text[], $8::text[])"
    " AS u(id, version, now, etag, last_modified, next_check, status, lease)"
    " WHERE s.id = u.id AND s.version = u.version"
    " AND (u.lease IS NULL OR coalesce(s.lease_owner, u.lease) = u.lease)"
    " RETURNING s.id"
)


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


class Answers:
    """The unchanged polls waiting to be written to DATABASE, and the writer of them."""

    def __init__(self, database: Database) -> None:
        self._database = database
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
        """Let what is being written finish (the store is closing)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer

    async def _write_all(self) -> None:
        while self._waiting:
            batch = self._take()
            try:
                recorded = await self._write(batch)
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

    async def _write(self, batch: Sequence[Waiting]) -> set[int]:
        records = [record for record, _ in batch]
        args = (
            [r.source_id for r in records],
            [r.version for r in records],
            [to_us(r.now) for r in records],
            [clean_or_none(r.etag) for r in records],
            [clean_or_none(r.last_modified) for r in records],
            [to_us(r.next_check) for r in records],
            [r.status.value for r in records],
            [r.lease for r in records],
        )

        async def work(db: Connection) -> set[int]:
            return {row[0] for row in await db.fetch(_UPDATE, *args)}

        async def happened(db: Connection) -> bool:
            return bool(await _moved(db, records))

        written = await self._database._run(work, transaction=False, applied=happened)
        if written is None:  # the answer was lost, and the statement happened: which rows?
            return await self._database._read(lambda db: _moved(db, records))
        return written

    async def _refusals(self, refused: Sequence[PollRecord]) -> dict[int, StalePoll]:
        """Why each of REFUSED was: its lease is another's, or its version moved."""

        async def owners(db: Connection) -> dict[int, str | None]:
            rows = await db.fetch(
                "SELECT id, lease_owner FROM sources WHERE id = ANY($1::bigint[])",
                [record.source_id for record in refused],
            )
            return {row[0]: row[1] for row in rows}

        held = await self._database._read(owners)
        reasons: dict[int, StalePoll] = {}
        for record in refused:
            owner = held.get(record.source_id)
            if record.lease is not None and owner not in (None, record.lease):
                reasons[record.source_id] = LeaseLost(
                    f"source {record.source_id}'s lease was taken over"
                )
            else:
                reasons[record.source_id] = StalePoll(
                    f"source {record.source_id} was polled meanwhile"
                )
        return reasons


async def _moved(db: Connection, records: Sequence[PollRecord]) -> set[int]:
    """The sources of RECORDS whose row holds that poll: its version moved by one, at its time."""
    rows = await db.fetch(
        "SELECT id, version, last_polled FROM sources WHERE id = ANY($1::bigint[])",
        [record.source_id for record in records],
    )
    now = {row[0]: (row[1], row[2]) for row in rows}
    return {r.source_id for r in records if now.get(r.source_id) == (r.version + 1, to_us(r.now))}


__all__ = ["Answers", "combinable"]
