"""Stories and sources in SQLite: a server's stories (or the config's), the URLs they follow."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from bot.model import PauseReason, SourceKind
from bot.store.codec import to_us
from bot.store.errors import StoreError
from bot.store.interface import StoriesStore
from bot.store.records import SourceRecord, StoryRecord
from bot.store.sqlite.database import Database


def _now() -> datetime:
    return datetime.now(UTC)


class Stories(Database, StoriesStore):
    async def ensure_story(
        self,
        name: str,
        *,
        guild_id: int | None = None,
        interval: int | None = None,
        now: datetime | None = None,
    ) -> int:
        now_us = to_us(now or _now())
        async with self._transaction() as db:
            if guild_id is not None:
                await db.execute(
                    "INSERT INTO guilds (id, joined_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                    (guild_id, now_us),
                )
            row = await self._fetchone(
                "SELECT id FROM stories WHERE ifnull(guild_id, -1) = ifnull(?, -1)"
                " AND name = ? COLLATE NOCASE",
                (guild_id, name),
            )
            if row is not None:
                if interval is not None:
                    await db.execute(
                        "UPDATE stories SET interval = ? WHERE id = ?", (interval, row["id"])
                    )
                return int(row["id"])
            cursor = await db.execute(
                "INSERT INTO stories (guild_id, name, interval, created_at) VALUES (?, ?, ?, ?)",
                (guild_id, name, interval, now_us),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    async def get_story(self, story_id: int) -> StoryRecord:
        row = await self._query_one("SELECT * FROM stories WHERE id = ?", (story_id,))
        if row is None:
            raise StoreError(f"no story with id {story_id}")
        return StoryRecord.from_row(row)

    async def stories_for_guild(self, guild_id: int | None) -> list[StoryRecord]:
        rows = await self._query_all(
            "SELECT * FROM stories WHERE guild_id IS NULL OR guild_id = ? ORDER BY name",
            (guild_id,),
        )
        return [StoryRecord.from_row(row) for row in rows]

    async def set_story_paused(
        self,
        story_id: int,
        paused: bool,
        *,
        reason: PauseReason = PauseReason.MODERATOR,
        now: datetime | None = None,
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE stories SET paused_at = ?, pause_reason = ? WHERE id = ?",
                (
                    to_us(now or _now()) if paused else None,
                    reason.value if paused else None,
                    story_id,
                ),
            )

    async def add_source(
        self,
        story_id: int,
        url: str,
        *,
        kind: SourceKind | None = None,
        selectors: Mapping[str, str] | None = None,
        interval: int = 60,
        retention_days: int | None = None,
        now: datetime | None = None,
    ) -> int:
        now_us = to_us(now or _now())
        selectors_json = None if selectors is None else json.dumps(dict(selectors), sort_keys=True)
        async with self._transaction() as db:
            # A new source is due at once; an existing one keeps its state, and only fills in
            # a kind or selectors it did not have.
            row = await self._fetchone(
                "INSERT INTO sources (url, kind, selectors, interval, retention_days, next_check,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET kind = ifnull(kind, excluded.kind),"
                " selectors = ifnull(selectors, excluded.selectors),"
                " retention_days = ifnull(excluded.retention_days, retention_days)"
                " RETURNING id",
                (
                    url,
                    None if kind is None else kind.value,
                    selectors_json,
                    interval,
                    retention_days,
                    now_us,
                    now_us,
                ),
            )
            assert row is not None
            source_id = int(row["id"])
            await db.execute(
                "INSERT INTO story_sources (story_id, source_id, interval, added_at)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (story_id, source_id) DO UPDATE SET interval = excluded.interval",
                (story_id, source_id, interval, now_us),
            )
            await self._refresh_interval(source_id)
            return source_id

    async def remove_source(self, story_id: int, source_id: int) -> None:
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM story_sources WHERE story_id = ? AND source_id = ?",
                (story_id, source_id),
            )
            await self._refresh_interval(source_id)

    async def _refresh_interval(self, source_id: int) -> None:
        await self._db.execute(
            "UPDATE sources SET interval = ifnull("
            " (SELECT min(interval) FROM story_sources WHERE source_id = ?), interval)"
            " WHERE id = ?",
            (source_id, source_id),
        )

    async def get_source(self, source_id: int) -> SourceRecord:
        row = await self._query_one("SELECT * FROM sources WHERE id = ?", (source_id,))
        if row is None:
            raise StoreError(f"no source with id {source_id}")
        return SourceRecord.from_row(row)

    async def sources_of_story(self, story_id: int) -> list[SourceRecord]:
        rows = await self._query_all(
            "SELECT s.* FROM sources s JOIN story_sources ss ON ss.source_id = s.id"
            " WHERE ss.story_id = ? ORDER BY ss.added_at, s.id",
            (story_id,),
        )
        return [SourceRecord.from_row(row) for row in rows]

    async def count_guild_sources(self, guild_id: int) -> int:
        row = await self._query_one(
            "SELECT count(*) FROM story_sources ss JOIN stories st ON st.id = ss.story_id"
            " WHERE st.guild_id = ?",
            (guild_id,),
        )
        return int(row[0]) if row else 0

    async def delete_story(self, story_id: int) -> None:
        async with self._transaction() as db:
            sources = await self._fetchall(
                "SELECT source_id FROM story_sources WHERE story_id = ?", (story_id,)
            )
            await db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
            for row in sources:
                await self._refresh_interval(row[0])
