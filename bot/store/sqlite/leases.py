"""Leases on sources in SQLite. A file serves one process, so a claim never waits for another:
it takes every due source it is asked for, a lease left by an earlier run (killed) included.
The lease still guards the poll's record (`Polls.record_poll`), as on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from bot.store.codec import to_us
from bot.store.errors import DatabaseUnavailable, StalePoll, refusal_of
from bot.store.interface import LeasesStore
from bot.store.poll_record import PollRecord
from bot.store.sqlite.database import Database


class Leases(Database, LeasesStore):
    async def _leasing(self, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        """A lease's statement; a database that cannot take it now is `DatabaseUnavailable`."""
        try:
            return await self._query_all(sql, params)
        except sqlite3.OperationalError as error:
            raise DatabaseUnavailable(str(error)) from error

    async def claim_sources(
        self, source_ids: Sequence[int], *, owner: str, now: datetime, until: datetime
    ) -> list[int]:
        if not source_ids:
            return []
        # One process per file: a lease left by an earlier run of it (killed) is taken at once.
        rows = await self._leasing(
            "UPDATE sources SET lease_owner = ?, lease_until = ?"
            " WHERE id IN (SELECT value FROM json_each(?)) AND next_check <= ? RETURNING id",
            (owner, to_us(until), json.dumps(list(source_ids)), to_us(now)),
        )
        return sorted(row[0] for row in rows)

    async def renew_leases(
        self, source_ids: Sequence[int], *, owner: str, until: datetime
    ) -> list[int]:
        if not source_ids:
            return []
        rows = await self._leasing(
            "UPDATE sources SET lease_until = ? WHERE id IN (SELECT value FROM json_each(?))"
            " AND lease_owner = ? AND lease_until IS NOT NULL RETURNING id",
            (to_us(until), json.dumps(list(source_ids)), owner),
        )
        return sorted(row[0] for row in rows)


def under_lease(
    sql: str, args: tuple[object, ...], lease: str | None
) -> tuple[str, tuple[object, ...]]:
    """The UPDATE of a source's row for a poll (SQL, ARGS), guarded too, when the poll was
    taken under a lease, by the lease's owner; recording it releases the lease."""
    if lease is None:
        return sql, args
    sql = sql.replace("UPDATE sources SET ", "UPDATE sources SET lease_until = NULL, ", 1)
    # a source never claimed (lease_owner NULL) is anyone's: a poll outside the poller
    return f"{sql} AND ifnull(lease_owner, ?) = ?", (*args, lease, lease)


async def refusal(db: aiosqlite.Connection, record: PollRecord) -> StalePoll:
    """Why the source's row refused RECORD (asked under the store's lock): its lease is
    another's, or its version moved."""
    owner = None
    if record.lease is not None:
        rows = list(
            await db.execute_fetchall(
                "SELECT lease_owner FROM sources WHERE id = ?", (record.source_id,)
            )
        )
        owner = rows[0][0] if rows else None
    return refusal_of(record.source_id, record.lease, owner)
