"""Entries and key points in SQLite: what the commands and digests read, and forgetting old ones."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from bot.diff import id_key
from bot.model import KeyPointsKind
from bot.store.codec import moment_from_us, to_us, to_us_or_none
from bot.store.interface import DEFAULT_RETENTION, EntriesStore
from bot.store.records import KeyPointsRecord, StoredEntryRecord
from bot.store.rules import GUILD_GRACE, TOUCH_EVERY
from bot.store.rules import us as _us
from bot.store.sqlite.database import Database

log = logging.getLogger(__name__)


class Entries(Database, EntriesStore):
    async def latest_entries(self, story_id: int, limit: int = 5) -> list[StoredEntryRecord]:
        rows = await self._query_all(
            "SELECT e.* FROM entries e JOIN story_sources ss ON ss.source_id = e.source_id"
            " WHERE ss.story_id = ?"
            " ORDER BY ifnull(e.published, e.first_seen) DESC, e.seq DESC LIMIT ?",
            (story_id, limit),
        )
        return [StoredEntryRecord.from_row(row) for row in rows]

    async def entries_since(
        self, story_id: int, since: datetime, until: datetime | None = None
    ) -> list[StoredEntryRecord]:
        until_us = to_us_or_none(until)
        rows = await self._query_all(
            "SELECT e.* FROM entries e JOIN story_sources ss ON ss.source_id = e.source_id"
            " WHERE ss.story_id = ? AND e.first_seen > ? AND (? IS NULL OR e.first_seen <= ?)"
            " AND e.posted ORDER BY e.first_seen, ifnull(e.published, 0), e.seq",
            (story_id, to_us(since), until_us, until_us),
        )
        return [StoredEntryRecord.from_row(row) for row in rows]

    async def get_entry(self, source_id: int, entry_id: str) -> StoredEntryRecord | None:
        row = await self._query_one(
            "SELECT * FROM entries WHERE source_id = ? AND entry_id = ?", (source_id, entry_id)
        )
        return None if row is None else StoredEntryRecord.from_row(row)

    async def current_key_points(self, story_id: int) -> list[KeyPointsRecord]:
        rows = await self._query_all(
            "SELECT s.id, s.url, k.kind, k.items, k.created_at FROM story_sources ss"
            " JOIN sources s ON s.id = ss.source_id"
            " JOIN key_points k ON k.id ="
            "  (SELECT max(id) FROM key_points WHERE source_id = s.id)"
            " WHERE ss.story_id = ? ORDER BY ss.added_at, s.id",
            (story_id,),
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
        until_us = to_us_or_none(until)
        row = await self._query_one(
            "SELECT 1 FROM key_points k JOIN story_sources ss ON ss.source_id = k.source_id"
            " WHERE ss.story_id = ? AND k.created_at > ? AND (? IS NULL OR k.created_at <= ?)"
            " LIMIT 1",
            (story_id, to_us(since), until_us, until_us),
        )
        return row is not None

    async def prune(self, now: datetime, retention: timedelta = DEFAULT_RETENTION) -> int:
        now_us = to_us(now)
        slack = _us(TOUCH_EVERY)
        default_us = _us(retention)
        async with self._transaction() as db:
            expired = await self._fetchall(
                "SELECT e.seq, e.source_id, e.entry_id"
                " FROM entries e JOIN sources s ON s.id = e.source_id"
                " WHERE e.last_seen < ? - ifnull(s.retention_days * 86400000000, ?) - ?",
                (now_us, default_us, slack),
            )
            tombstones = [(row[1], id_key(row[2]), now_us) for row in expired]
            await db.executemany(
                "INSERT INTO tombstones (source_id, key, pruned_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                tombstones,
            )
            await db.execute(
                "DELETE FROM entries WHERE seq IN (SELECT value FROM json_each(?))",
                (json.dumps([row[0] for row in expired]),),
            )
            pruned = len(expired)
            await db.execute(
                "DELETE FROM deliveries WHERE state IN ('sent', 'given_up') AND created_at < ?",
                (now_us - default_us,),
            )
            await db.execute("DELETE FROM delivery_attempts WHERE at < ?", (now_us - default_us,))
            await db.execute("DELETE FROM routing_decisions WHERE at < ?", (now_us - default_us,))
            # what a message showed, for edits: those older than the window get no correction
            await db.execute(
                "DELETE FROM posted_messages WHERE posted_at < ?", (now_us - default_us,)
            )
            await db.execute(
                "DELETE FROM guilds WHERE left_at IS NOT NULL AND left_at < ?",
                (now_us - _us(GUILD_GRACE),),
            )
        log.info("pruned %d entries", pruned)
        return pruned
