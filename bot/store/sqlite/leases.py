"""Leases on sources in SQLite. A file serves one process, so a claim never waits for another:
it takes every due source it is asked for, a lease left by an earlier run (killed) included.
The lease still guards the poll's record (`Polls.record_poll`), as on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.store.codec import to_us
from bot.store.interface import LeasesStore
from bot.store.sqlite.database import Database


class Leases(Database, LeasesStore):
    async def claim_sources(
        self, source_ids: Sequence[int], *, owner: str, now: datetime, until: datetime
    ) -> list[int]:
        if not source_ids:
            return []
        # One process per file: a lease left by an earlier run of it (killed) is taken at once.
        rows = await self._query_all(
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
        rows = await self._query_all(
            "UPDATE sources SET lease_until = ? WHERE id IN (SELECT value FROM json_each(?))"
            " AND lease_owner = ? AND lease_until IS NOT NULL RETURNING id",
            (to_us(until), json.dumps(list(source_ids)), owner),
        )
        return sorted(row[0] for row in rows)
