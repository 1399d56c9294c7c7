"""Entries and key points in PostgreSQL: what the commands and digests read, and forgetting old
ones."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from bot.diff import id_key
from bot.model import KeyPointsKind
from bot.store.codec import moment_from_us, to_us, to_us_or_none
from bot.store.interface import DEFAULT_RETENTION, EntriesStore
from bot.store.postgres.database import Connection, Database, clean
from bot.store.records import KeyPointsRecord, StoredEntryRecord
from bot.store.rules import GUILD_GRACE, TOUCH_EVERY, us

log = logging.getLogger(__name__)


class Entries(Database, EntriesStore):
    async def latest_entries(self, story_id: int, limit: int = 5) -> list[StoredEntryRecord]:
        rows = await self._fetch(
            "SELECT e.* FROM entries e JOIN story_sources ss ON ss.source_id = e.source_id"
            " WHERE ss.story_id = $1"
            " ORDER BY coalesce(e.published, e.first_seen) DESC, e.seq DESC LIMIT $2",
            story_id,
            limit,
        )
        return [StoredEntryRecord.from_row(row) for row in rows]

    async def entries_since(
        self, story_id: int, since: datetime, until: datetime | None = None
    ) -> list[StoredEntryRecord]:
        rows = await self._fetch(
            "SELECT e.* FROM entries e JOIN story_sources ss ON ss.source_id = e.source_id"
            " WHERE ss.story_id = $1 AND e.first_seen > $2"
            " AND ($3::bigint IS NULL OR e.first_seen <= $3) AND e.posted"
            " ORDER BY e.first_seen, coalesce(e.published, 0), e.seq",
            story_id,
            to_us(since),
            to_us_or_none(until),
        )
        return [StoredEntryRecord.from_row(row) for row in rows]

    async def get_entry(self, source_id: int, entry_id: str) -> StoredEntryRecord | None:
        row = await self._fetchrow(
            "SELECT * FROM entries WHERE source_id = $1 AND entry_id = $2",
            source_id,
            clean(entry_id),
        )
        return None if row is None else StoredEntryRecord.from_row(row)

    async def current_key_points(self, story_id: int) -> list[KeyPointsRecord]:
        rows = await self._fetch(
            "SELECT s.id, s.url, k.kind, k.items, k.created_at FROM story_sources ss"
            " JOIN sources s ON s.id = ss.source_id"
            " JOIN key_points k ON k.id ="
            "  (SELECT max(id) FROM key_points WHERE source_id = s.id)"
            " WHERE ss.story_id = $1 ORDER BY ss.added_at, s.id",
            story_id,
        )
        return [
            KeyPointsRecord(
                source_id=row[0],
                source_url=row[1],
                kind=KeyPointsKind(row[2]),
                items=tuple(json.loads(row[3])),
                changed_at=moment_from_us(row[4]),
            )
            for row in rows
        ]

    async def key_points_changed_since(
        self, story_id: int, since: datetime, until: datetime | None = None
    ) -> bool:
        row = await self._fetchrow(
            "SELECT 1 FROM key_points k JOIN story_sources ss ON ss.source_id = k.source_id"
            " WHERE ss.story_id = $1 AND k.created_at > $2"
            " AND ($3::bigint IS NULL OR k.created_at <= $3) LIMIT 1",
            story_id,
            to_us(since),
            to_us_or_none(until),
        )
        return row is not None

    async def prune(self, now: datetime, retention: timedelta = DEFAULT_RETENTION) -> int:
        now_us = to_us(now)
        default_us = us(retention)

        async def work(db: Connection) -> int:
            # the entries go, their tombstones (a key of each id) come, in one statement
            expired = await db.fetch(
                "DELETE FROM entries e USING sources s WHERE s.id = e.source_id"
                " AND e.last_seen < $1 - coalesce(s.retention_days * 86400000000, $2) - $3"
                " RETURNING e.source_id, e.entry_id",
                now_us,
                default_us,
                us(TOUCH_EVERY),
            )
            await db.execute(
                "INSERT INTO tombstones (source_id, key, pruned_at)"
                " SELECT u.source_id, u.key, $3 FROM unnest($1::bigint[], $2::bigint[])"
                " AS u(source_id, key) ON CONFLICT DO NOTHING",
                [row[0] for row in expired],
                [id_key(row[1]) for row in expired],
                now_us,
            )
            await db.execute(
                "DELETE FROM deliveries WHERE state IN ('sent', 'given_up') AND created_at < $1",
                now_us - default_us,
            )
            await db.execute("DELETE FROM delivery_attempts WHERE at < $1", now_us - default_us)
            await db.execute("DELETE FROM routing_decisions WHERE at < $1", now_us - default_us)
            # what a message showed, for edits: those older than the window get no correction
            await db.execute(
                "DELETE FROM posted_messages WHERE posted_at < $1", now_us - default_us
            )
            await db.execute(
                "DELETE FROM guilds WHERE left_at IS NOT NULL AND left_at < $1",
                now_us - us(GUILD_GRACE),
            )
            return len(expired)

        pruned = await self._write(work)
        log.info("pruned %d entries", pruned)
        return pruned
