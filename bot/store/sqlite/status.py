"""What the web window reads from SQLite: every server's stories at once, in a few queries
whatever their number (the status page of 1,000 stories is drawn from seven)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.model import Entry, KeyPointsKind, StoryStatus
from bot.store.codec import from_us, moment_from_us
from bot.store.overview import Backlog, KeyPointsVersion, SourceStates, StatusStore
from bot.store.records import (
    DeliveryAttempt,
    KeyPointsRecord,
    SourceRecord,
    StoredEntryRecord,
    StoryRecord,
)
from bot.store.sqlite.database import Database

PING_BUSY_MS = 1000  # a ping waits this long for a lock held elsewhere (a write waits 5 s)
BUSY_MS = 5000  # the connection's own busy timeout (bot.store.sqlite.database)

# Only sources some story uses are read (one no story uses is not polled, and not shown).


class Status(Database, StatusStore):
    async def ping(self) -> None:
        async with self._lock:
            await self._db.execute(f"PRAGMA busy_timeout = {PING_BUSY_MS}")
            try:
                # takes the write lock and gives it back at once: nothing is written
                await self._db.execute("BEGIN IMMEDIATE")
                await self._db.execute("ROLLBACK")
            finally:
                if self._db.in_transaction:
                    await self._db.rollback()
                await self._db.execute(f"PRAGMA busy_timeout = {BUSY_MS}")

    async def all_stories(self) -> list[StoryRecord]:
        rows = await self._query_all("SELECT * FROM stories ORDER BY name COLLATE NOCASE, id")
        return [StoryRecord.from_row(row) for row in rows]

    async def all_story_sources(self) -> list[tuple[int, SourceRecord]]:
        rows = await self._query_all(
            "SELECT ss.story_id, s.* FROM story_sources ss JOIN sources s ON s.id = ss.source_id"
            " ORDER BY ss.story_id, ss.added_at, s.id"
        )
        return [(row["story_id"], SourceRecord.from_row(row)) for row in rows]

    async def stories_with_unpolled_sources(self) -> set[int]:
        rows = await self._query_all(
            "SELECT DISTINCT ss.story_id FROM story_sources ss"
            " JOIN sources s ON s.id = ss.source_id WHERE s.last_polled IS NULL"
        )
        return {row[0] for row in rows}

    async def newest_key_points(self) -> list[KeyPointsRecord]:
        rows = await self._query_all(
            "SELECT s.id, s.url, k.kind, k.items, k.created_at FROM sources s"
            " JOIN key_points k ON k.id = (SELECT max(id) FROM key_points WHERE source_id = s.id)"
            " WHERE EXISTS (SELECT 1 FROM story_sources u WHERE u.source_id = s.id) ORDER BY s.id"
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

    async def newest_entries(self, per_source: int) -> list[StoredEntryRecord]:
        # per source, the index on (source_id, first_seen) gives its newest at once
        rows = await self._query_all(
            # the columns of _entry, by position
            "SELECT e.source_id, e.entry_id, e.title, e.text, e.url, e.published, e.updated,"
            " e.image, e.first_seen, e.last_seen, e.posted, e.edited_at, e.first_title,"
            " e.first_text FROM sources s JOIN entries e ON e.seq IN"
            " (SELECT x.seq FROM entries x WHERE x.source_id = s.id"
            "  ORDER BY x.first_seen DESC, x.seq DESC LIMIT ?)"
            " WHERE EXISTS (SELECT 1 FROM story_sources u WHERE u.source_id = s.id)"
            " ORDER BY e.source_id, e.first_seen DESC, e.seq DESC",
            (per_source,),
        )
        return [_entry(row) for row in rows]

    async def key_point_versions(self, source_id: int, limit: int) -> list[KeyPointsVersion]:
        rows = await self._query_all(
            "SELECT id, source_id, kind, items, added, removed, created_at FROM key_points"
            " WHERE source_id = ? ORDER BY id DESC LIMIT ?",
            (source_id, limit),
        )
        return [
            KeyPointsVersion(
                id=row[0],
                source_id=row[1],
                kind=KeyPointsKind(row[2]),
                items=tuple(json.loads(row[3])),
                added=tuple(json.loads(row[4])),
                removed=tuple(json.loads(row[5])),
                created_at=moment_from_us(row[6]),
            )
            for row in rows
        ]

    async def outbox_backlog(self) -> list[Backlog]:
        rows = await self._query_all(
            "SELECT ifnull(sub.guild_id, d.guild_id), count(*), sum(d.attempts > 0),"
            " sum(sub.paused_at IS NOT NULL), min(d.created_at)"
            " FROM deliveries d LEFT JOIN subscriptions sub ON sub.id = d.subscription_id"
            " WHERE d.state = 'pending' GROUP BY 1 ORDER BY 1"
        )
        return [
            Backlog(
                guild_id=row[0],
                pending=int(row[1]),
                retrying=int(row[2] or 0),
                held=int(row[3] or 0),
                oldest=moment_from_us(row[4]),
            )
            for row in rows
        ]

    async def recent_deliveries(
        self, limit: int, *, story_id: int | None = None
    ) -> list[DeliveryAttempt]:
        if story_id is None:
            rows = await self._query_all(
                "SELECT * FROM delivery_attempts ORDER BY id DESC LIMIT ?", (limit,)
            )
        else:
            rows = await self._query_all(
                "SELECT * FROM delivery_attempts WHERE story_id = ? ORDER BY id DESC LIMIT ?",
                (story_id, limit),
            )
        return [DeliveryAttempt.from_row(row) for row in rows]

    async def source_states(self) -> list[SourceStates]:
        rows = await self._query_all(
            "SELECT s.status, s.failures > 0, s.auto_paused_at IS NOT NULL,"
            " NOT EXISTS (SELECT 1 FROM story_sources ss JOIN stories st ON st.id = ss.story_id"
            "  WHERE ss.source_id = s.id AND st.paused_at IS NULL),"
            " count(*) FROM sources s"
            " WHERE EXISTS (SELECT 1 FROM story_sources u WHERE u.source_id = s.id)"
            " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
        return [
            SourceStates(
                status=StoryStatus(row[0]),
                failing=bool(row[1]),
                auto_paused=bool(row[2]),
                stories_paused=bool(row[3]),
                count=int(row[4]),
            )
            for row in rows
        ]


def _entry(row: Sequence[Any]) -> StoredEntryRecord:
    """An entry read by position, as `StoredEntryRecord.from_row` reads one by name: the
    status page of 1,000 stories reads 5,000, and by position costs a quarter less."""
    edited = row[11] is not None
    return StoredEntryRecord(
        source_id=row[0],
        entry=Entry(
            id=row[1],
            title=row[2],
            text=row[3],
            url=row[4],
            published=from_us(row[5]),
            updated=from_us(row[6]),
            image=row[7],
        ),
        first_seen=moment_from_us(row[8]),
        last_seen=moment_from_us(row[9]),
        posted=bool(row[10]),
        edited_at=from_us(row[11]),
        first_title=row[12] if edited else row[2],
        first_text=row[13] if edited else row[3],
    )
