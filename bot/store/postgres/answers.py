"""Unchanged polls written together on PostgreSQL (`bot.store.answers`): one statement for
all, `UPDATE ... FROM unnest(...)`. The statement is atomic, so a batch whose answer was lost
happened for all of its rows or for none: which, is read back from the rows (their version moved
by one to this poll's time), as a lone poll's is.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.answers import Answers
from bot.store.codec import to_us
from bot.store.poll_record import PollRecord
from bot.store.postgres.database import Connection, Database, clean_or_none

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


class PostgresAnswers(Answers):
    """Unchanged polls written together to DATABASE, with no wait beyond the write in progress
    (a round trip lets enough of them gather)."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self._database = database

    async def _write(self, records: Sequence[PollRecord]) -> set[int]:
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

    async def _owners(self, source_ids: Sequence[int]) -> dict[int, str | None]:
        async def owners(db: Connection) -> dict[int, str | None]:
            rows = await db.fetch(
                "SELECT id, lease_owner FROM sources WHERE id = ANY($1::bigint[])", source_ids
            )
            return {row[0]: row[1] for row in rows}

        return await self._database._read(owners)


async def _moved(db: Connection, records: Sequence[PollRecord]) -> set[int]:
    """The sources of RECORDS whose row holds that poll: its version moved by one, at its time."""
    rows = await db.fetch(
        "SELECT id, version, last_polled FROM sources WHERE id = ANY($1::bigint[])",
        [record.source_id for record in records],
    )
    now = {row[0]: (row[1], row[2]) for row in rows}
    return {r.source_id for r in records if now.get(r.source_id) == (r.version + 1, to_us(r.now))}


__all__ = ["PostgresAnswers"]
