"""Stories and sources in PostgreSQL: a server's stories (or the config's), the URLs they
follow."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from bot.model import PauseReason, SourceKind
from bot.store.codec import to_us
from bot.store.errors import StoreError
from bot.store.interface import StoriesStore
from bot.store.postgres.database import Connection, Database
from bot.store.records import SourceRecord, StoryRecord


def _now() -> datetime:
    return datetime.now(UTC)


# A story's name is unique per server, ASCII letters in any case (as SQLite's NOCASE): the
# expression of the unique index stories_guild_name.
_SAME_STORY = (
    "SELECT id FROM stories WHERE coalesce(guild_id, -1) = coalesce($1::bigint, -1)"
    ' AND lower(name COLLATE "C") = lower($2 COLLATE "C")'
)


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

        async def work(db: Connection) -> int:
            if guild_id is not None:
                await db.execute(
                    "INSERT INTO guilds (id, joined_at) VALUES ($1, $2)"
                    " ON CONFLICT (id) DO NOTHING",
                    guild_id,
                    now_us,
                )
            # Another process may make the same story at the same moment: the unique index
            # decides, and both get the one row.
            story_id = await db.fetchval(
                "INSERT INTO stories (guild_id, name, interval, created_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
                guild_id,
                name,
                interval,
                now_us,
            )
            if story_id is not None:
                return int(story_id)
            story_id = await db.fetchval(_SAME_STORY, guild_id, name)
            if story_id is None:
                raise StoreError(f"story {name!r} could not be made")
            if interval is not None:
                await db.execute(
                    "UPDATE stories SET interval = $1 WHERE id = $2", interval, story_id
                )
            return int(story_id)

        return await self._write(work)

    async def get_story(self, story_id: int) -> StoryRecord:
        row = await self._fetchrow("SELECT * FROM stories WHERE id = $1", story_id)
        if row is None:
            raise StoreError(f"no story with id {story_id}")
        return StoryRecord.from_row(row)

    async def stories_for_guild(self, guild_id: int | None) -> list[StoryRecord]:
        rows = await self._fetch(
            "SELECT * FROM stories WHERE guild_id IS NULL OR guild_id = $1"
            ' ORDER BY name COLLATE "C"',
            guild_id,
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
        async def work(db: Connection) -> None:
            await db.execute(
                "UPDATE stories SET paused_at = $1, pause_reason = $2 WHERE id = $3",
                to_us(now or _now()) if paused else None,
                reason.value if paused else None,
                story_id,
            )

        await self._write(work)

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

        async def work(db: Connection) -> int:
            # A new source is due at once; an existing one keeps its state, and only fills in
            # a kind or selectors it did not have.
            source_id = int(
                await db.fetchval(
                    "INSERT INTO sources (url, kind, selectors, interval, retention_days,"
                    " next_check, created_at) VALUES ($1, $2, $3, $4, $5, $6, $6)"
                    " ON CONFLICT (url) DO UPDATE SET"
                    " kind = coalesce(sources.kind, excluded.kind),"
                    " selectors = coalesce(sources.selectors, excluded.selectors),"
                    " retention_days = coalesce(excluded.retention_days, sources.retention_days)"
                    " RETURNING id",
                    url,
                    None if kind is None else kind.value,
                    selectors_json,
                    interval,
                    retention_days,
                    now_us,
                )
            )
            await db.execute(
                "INSERT INTO story_sources (story_id, source_id, interval, added_at)"
                " VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (story_id, source_id) DO UPDATE SET interval = excluded.interval",
                story_id,
                source_id,
                interval,
                now_us,
            )
            await _refresh_interval(db, source_id)
            return source_id

        return await self._write(work)

    async def remove_source(self, story_id: int, source_id: int) -> None:
        async def work(db: Connection) -> None:
            await db.execute(
                "DELETE FROM story_sources WHERE story_id = $1 AND source_id = $2",
                story_id,
                source_id,
            )
            await _refresh_interval(db, source_id)

        await self._write(work)

    async def get_source(self, source_id: int) -> SourceRecord:
        row = await self._fetchrow("SELECT * FROM sources WHERE id = $1", source_id)
        if row is None:
            raise StoreError(f"no source with id {source_id}")
        return SourceRecord.from_row(row)

    async def sources_of_story(self, story_id: int) -> list[SourceRecord]:
        rows = await self._fetch(
            "SELECT s.* FROM sources s JOIN story_sources ss ON ss.source_id = s.id"
            " WHERE ss.story_id = $1 ORDER BY ss.added_at, s.id",
            story_id,
        )
        return [SourceRecord.from_row(row) for row in rows]

    async def count_guild_sources(self, guild_id: int) -> int:
        count = await self._fetchval(
            "SELECT count(*) FROM story_sources ss JOIN stories st ON st.id = ss.story_id"
            " WHERE st.guild_id = $1",
            guild_id,
        )
        return int(count or 0)

    async def delete_story(self, story_id: int) -> None:
        async def work(db: Connection) -> None:
            sources = await db.fetch(
                "SELECT source_id FROM story_sources WHERE story_id = $1", story_id
            )
            await db.execute("DELETE FROM stories WHERE id = $1", story_id)
            for row in sources:
                await _refresh_interval(db, row[0])

        await self._write(work)


async def _refresh_interval(db: Connection, source_id: int) -> None:
    """A source is polled at the shortest interval any story using it asked for."""
    await db.execute(
        "UPDATE sources SET interval = coalesce("
        " (SELECT min(interval) FROM story_sources WHERE source_id = $1), interval)"
        " WHERE id = $1",
        source_id,
    )
