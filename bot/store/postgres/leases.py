"""Leases on sources in PostgreSQL: each due source is polled by one process of a fleet.

A claim leases the due sources a process picked, skipping those another process is claiming at
that moment (`FOR UPDATE SKIP LOCKED`: nobody waits) and those whose lease another holds and has
not let expire. The holder renews its leases while their polls run; a process that dies stops
renewing, and its sources are taken over once their leases expire. The poll's record checks the
lease's owner (`Polls.record_poll`), so a late holder whose lease was taken over writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.store.codec import to_us
from bot.store.errors import StalePoll, refusal_of
from bot.store.interface import LeasesStore
from bot.store.poll_record import PollRecord
from bot.store.postgres.database import Connection, Database


class Leases(Database, LeasesStore):
    async def claim_sources(
        self, source_ids: Sequence[int], *, owner: str, now: datetime, until: datetime
    ) -> list[int]:
        if not source_ids:
            return []
        rows = await self._fetch(
            "UPDATE sources s SET lease_owner = $1, lease_until = $2 FROM ("
            " SELECT id FROM sources WHERE id = ANY($3::bigint[]) AND next_check <= $4"
            " AND (lease_until IS NULL OR lease_until <= $4)"
            " ORDER BY id FOR UPDATE SKIP LOCKED) free"
            " WHERE s.id = free.id RETURNING s.id",
            owner,
            to_us(until),
            list(source_ids),
            to_us(now),
        )
        return sorted(row[0] for row in rows)

    async def renew_leases(
        self, source_ids: Sequence[int], *, owner: str, until: datetime
    ) -> list[int]:
        if not source_ids:
            return []
        rows = await self._fetch(
            "UPDATE sources SET lease_until = $1 WHERE id = ANY($2::bigint[])"
            " AND lease_owner = $3 AND lease_until IS NOT NULL RETURNING id",
            to_us(until),
            list(source_ids),
            owner,
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
    owner = f"${len(args) + 1}"
    return f"{sql} AND coalesce(lease_owner, {owner}) = {owner}", (*args, lease)


async def refusal(db: Connection, record: PollRecord) -> StalePoll:
    """Why the source's row refused RECORD: its lease is another's, or its version moved."""
    owner = None
    if record.lease is not None:
        owner = await db.fetchval("SELECT lease_owner FROM sources WHERE id = $1", record.source_id)
    return refusal_of(record.source_id, record.lease, owner)
