"""What the web window reads from PostgreSQL: every server's stories at once, in a few queries
whatever their number, and the readiness ping.

The ping asks what a write needs: a connection, a server that takes writes (not a standby in
recovery, not `default_transaction_read_only`), and the lock every poll's write takes on
`sources` (waited for up to a second, as SQLite's ping waits for its write lock). It runs a
write that changes no row, in a transaction rolled back: nothing is written, no transaction id
is spent. Unlike the store's other calls it never waits for a lost server to come back: it
says at once that PostgreSQL does not answer, which is what readiness is for.
"""

from __future__ import annotations

import contextlib
import json

from asyncpg import exceptions as pg_errors

from bot.model import KeyPointsKind, StoryStatus
from bot.store.codec import moment_from_us
from bot.store.errors import StoreError
from bot.store.overview import Backlog, KeyPointsVersion, SourceStates, StatusStore
from bot.store.postgres.database import LOST, Connection, Database, one_line
from bot.store.records import (
    DeliveryAttempt,
    KeyPointsRecord,
    SourceRecord,
    StoredEntryRecord,
    StoryRecord,
)

# a connection that could not be made, or went away mid-ping
_GONE: tuple[type[BaseException], ...] = (*LOST, pg_errors.InterfaceError)
PING_LOCK_TIMEOUT = "1s"  # a ping waits this long for a lock held elsewhere on sources
# The write a poll makes, on no row: refused by a server that takes no writes, and waiting
# (up to the lock timeout) behind a lock that would hold up a poll, such as a migration's.
_PING = "UPDATE sources SET version = version WHERE false"

# Only sources some story uses are read (one no story uses is not polled, and not shown).


class Status(Database, StatusStore):
    async def ping(self) -> None:
        connection: Connection | None = None
        try:
            async with self._pool.acquire() as connection:
                try:
                    transaction = connection.transaction()
                    await transaction.start()
                    try:
                        await connection.execute(f"SET LOCAL lock_timeout = '{PING_LOCK_TIMEOUT}'")
                        await connection.execute(_PING)
                    finally:
                        await transaction.rollback()
                except BaseException as error:
                    if self._lost(error, connection):
                        with contextlib.suppress(pg_errors.InterfaceError):  # gone already
                            connection.terminate()  # never back into the pool
                    raise
        except pg_errors.ReadOnlySQLTransactionError:
            raise StoreError(
                f"PostgreSQL at {self._where} takes no writes (a standby in recovery, or"
                " default_transaction_read_only is on)"
            ) from None
        except pg_errors.LockNotAvailableError:
            raise StoreError(
                f"PostgreSQL at {self._where}: a write would wait, sources has been locked"
                f" elsewhere for over {PING_LOCK_TIMEOUT}"
            ) from None
        except pg_errors.PostgresError as error:
            raise StoreError(f"PostgreSQL at {self._where}: {one_line(error)}") from None
        except _GONE as error:
            raise StoreError(
                f"PostgreSQL at {self._where} does not answer ({one_line(error)})"
            ) from None

    async def all_stories(self) -> list[StoryRecord]:
        # by name, ASCII letters in any case (as SQLite's NOCASE), then as made
        rows = await self._fetch('SELECT * FROM stories ORDER BY lower(name COLLATE "C"), id')
        return [StoryRecord.from_row(row) for row in rows]

    async def all_story_sources(self) -> list[tuple[int, SourceRecord]]:
        rows = await self._fetch(
            "SELECT ss.story_id, s.* FROM story_sources ss JOIN sources s ON s.id = ss.source_id"
            " ORDER BY ss.story_id, ss.added_at, s.id"
        )
        return [(row["story_id"], SourceRecord.from_row(row)) for row in rows]

    async def stories_with_unpolled_sources(self) -> set[int]:
        rows = await self._fetch(
            "SELECT DISTINCT ss.story_id FROM story_sources ss"
            " JOIN sources s ON s.id = ss.source_id WHERE s.last_polled IS NULL"
        )
        return {row[0] for row in rows}

    async def newest_key_points(self) -> list[KeyPointsRecord]:
        rows = await self._fetch(
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
        rows = await self._fetch(
            "SELECT e.* FROM sources s CROSS JOIN LATERAL (SELECT * FROM entries x"
            "  WHERE x.source_id = s.id ORDER BY x.first_seen DESC, x.seq DESC LIMIT $1) e"
            " WHERE EXISTS (SELECT 1 FROM story_sources u WHERE u.source_id = s.id)"
            " ORDER BY e.source_id, e.first_seen DESC, e.seq DESC",
            per_source,
        )
        return [StoredEntryRecord.from_row(row) for row in rows]

    async def key_point_versions(self, source_id: int, limit: int) -> list[KeyPointsVersion]:
        rows = await self._fetch(
            "SELECT id, source_id, kind, items, added, removed, created_at FROM key_points"
            " WHERE source_id = $1 ORDER BY id DESC LIMIT $2",
            source_id,
            limit,
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
        rows = await self._fetch(
            "SELECT coalesce(sub.guild_id, d.guild_id), count(*),"
            " count(*) FILTER (WHERE d.attempts > 0),"
            " count(*) FILTER (WHERE sub.paused_at IS NOT NULL), min(d.created_at)"
            " FROM deliveries d LEFT JOIN subscriptions sub ON sub.id = d.subscription_id"
            # the console's (no server) first, as SQLite sorts NULL
            " WHERE d.state = 'pending' GROUP BY 1 ORDER BY 1 NULLS FIRST"
        )
        return [
            Backlog(
                guild_id=row[0],
                pending=int(row[1]),
                retrying=int(row[2]),
                held=int(row[3]),
                oldest=moment_from_us(row[4]),
            )
            for row in rows
        ]

    async def recent_deliveries(
        self, limit: int, *, story_id: int | None = None
    ) -> list[DeliveryAttempt]:
        if story_id is None:
            rows = await self._fetch(
                "SELECT * FROM delivery_attempts ORDER BY id DESC LIMIT $1", limit
            )
        else:
            rows = await self._fetch(
                "SELECT * FROM delivery_attempts WHERE story_id = $1 ORDER BY id DESC LIMIT $2",
                story_id,
                limit,
            )
        return [DeliveryAttempt.from_row(row) for row in rows]

    async def source_states(self) -> list[SourceStates]:
        rows = await self._fetch(
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
