"""Servers, their settings and their channels' subscriptions in SQLite; backfills."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.model import DEFAULT_DIGEST_PERIOD, Mode, NewEntry
from bot.store.codec import change_to_json, to_us
from bot.store.errors import StoreError
from bot.store.interface import SubscriptionsStore
from bot.store.records import Backfill, DeliveryHealth, StoredEntryRecord, SubscriptionRecord
from bot.store.rules import outbox_nonce
from bot.store.sqlite.database import Database


def _now() -> datetime:
    return datetime.now(UTC)


class Subscriptions(Database, SubscriptionsStore):
    async def queue_backfill(
        self, subscription_id: int, entries: Sequence[StoredEntryRecord], *, now: datetime
    ) -> Backfill:
        now_us = to_us(now)
        async with self._transaction() as db:
            # each update once: those this subscription has posted (or queued) already stay out
            shown = {
                (row[0], row[1])
                for row in await self._fetchall(
                    "SELECT source_id, entry_id FROM deliveries"
                    " WHERE subscription_id = ? AND kind = 'new'",
                    (subscription_id,),
                )
            }
            records = [r for r in entries if (r.source_id, r.entry.id) not in shown]
            deliveries = [
                (
                    subscription_id,
                    record.source_id,
                    record.entry.id,
                    change_to_json(NewEntry(record.entry)),
                    now_us,
                    outbox_nonce(
                        subscription_id, record.source_id, "backfill", record.entry.id, now_us
                    ),
                    now_us,
                    subscription_id,
                )
                for record in records
            ]
            await db.executemany(
                "INSERT INTO deliveries (subscription_id, source_id, entry_id, kind, payload,"
                " next_attempt, nonce, created_at, backfill)"
                " SELECT ?, ?, ?, 'new', ?, ?, ?, ?, 1"
                " WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = ?)",
                deliveries,
            )
            return Backfill(len(deliveries), already=len(entries) - len(records))

    async def delivery_health(self, guild_id: int) -> dict[int, DeliveryHealth]:
        rows = await self._query_all(
            "SELECT d.subscription_id,"
            " sum(d.state = 'pending' AND d.attempts > 0),"
            " sum(d.state = 'given_up'),"
            " (SELECT e.last_error FROM deliveries e WHERE e.subscription_id = d.subscription_id"
            "  AND e.last_error IS NOT NULL ORDER BY e.id DESC LIMIT 1)"
            " FROM deliveries d JOIN subscriptions sub ON sub.id = d.subscription_id"
            " WHERE sub.guild_id = ? AND (d.state = 'given_up'"
            "  OR (d.state = 'pending' AND d.attempts > 0))"
            " GROUP BY d.subscription_id",
            (guild_id,),
        )
        return {
            row[0]: DeliveryHealth(
                subscription_id=row[0],
                retrying=int(row[1] or 0),
                undeliverable=int(row[2] or 0),
                last_error=row[3],
            )
            for row in rows
        }

    # --- servers ----------------------------------------------------------------------------

    async def guild_joined(self, guild_id: int, *, now: datetime) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO guilds (id, joined_at) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET left_at = NULL",
                (guild_id, to_us(now)),
            )

    async def present_guilds(self) -> list[int]:
        rows = await self._query_all("SELECT id FROM guilds WHERE left_at IS NULL ORDER BY id")
        return [row[0] for row in rows]

    async def guild_left(self, guild_id: int, *, now: datetime) -> None:
        async with self._transaction() as db:
            await db.execute("UPDATE guilds SET left_at = ? WHERE id = ?", (to_us(now), guild_id))

    async def set_alerts_channel(self, guild_id: int, channel_id: int | None) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO guilds (id, joined_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                (guild_id, to_us(_now())),
            )
            await db.execute(
                "INSERT INTO guild_settings (guild_id, alerts_channel_id) VALUES (?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE"
                " SET alerts_channel_id = excluded.alerts_channel_id",
                (guild_id, channel_id),
            )

    async def alerts_channel(self, guild_id: int) -> int | None:
        row = await self._query_one(
            "SELECT alerts_channel_id FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return None if row is None else row[0]

    # --- subscriptions ----------------------------------------------------------------------

    async def subscribe(
        self,
        story_id: int,
        *,
        guild_id: int | None,
        channel_id: int | None,
        mode: Mode = Mode.UPDATES,
        every: int | None = None,
        mention_role_id: int | None = None,
        keywords: str | None = None,
        thread: bool = False,
        target: str | None = None,
        now: datetime | None = None,
        exclusions: str | None = None,
        pattern: str | None = None,
        forum: bool = False,
        channel_name: str | None = None,
    ) -> int:
        if mode not in tuple(Mode):
            raise StoreError(f"unknown mode {mode!r}; use one of {', '.join(Mode)}")
        if mode == Mode.DIGEST:  # a StrEnum: a plain "digest" is equal too
            every = every or DEFAULT_DIGEST_PERIOD
        target = target or ("console" if channel_id is None else "discord")
        now_us = to_us(now or _now())
        async with self._transaction() as db:
            if guild_id is not None:
                await db.execute(
                    "INSERT INTO guilds (id, joined_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                    (guild_id, now_us),
                )
            row = await self._fetchone(
                "INSERT INTO subscriptions (story_id, guild_id, target, channel_id, mode, every,"
                " mention_role_id, keywords, thread, created_at, exclusions, pattern, forum,"
                " channel_name)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (story_id, target, ifnull(channel_id, -1)) DO UPDATE SET"
                " mode = excluded.mode, every = excluded.every,"
                " mention_role_id = excluded.mention_role_id, keywords = excluded.keywords,"
                " thread = excluded.thread, paused_at = NULL, pause_reason = NULL,"
                " forum = excluded.forum, channel_name = excluded.channel_name,"
                " exclusions = excluded.exclusions, pattern = excluded.pattern,"
                " pause_detail = NULL,"
                # a switch to digests starts the first period now, not at the subscription's
                # creation (what came before was posted as it came)
                " last_digest_at = CASE WHEN subscriptions.mode != 'digest'"
                "  AND excluded.mode = 'digest' THEN excluded.created_at"
                "  ELSE subscriptions.last_digest_at END"
                " RETURNING id",
                (
                    story_id,
                    guild_id,
                    target,
                    channel_id,
                    mode,
                    every,
                    mention_role_id,
                    keywords,
                    thread or forum,
                    now_us,
                    exclusions,
                    pattern,
                    forum,
                    channel_name,
                ),
            )
            assert row is not None
            return int(row[0])

    async def rename_channel(self, channel_id: int, name: str) -> int:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE subscriptions SET channel_name = ? WHERE channel_id = ?"
                " AND channel_name IS NOT ?",
                (name, channel_id, name),
            )
            return cursor.rowcount

    async def unsubscribe(self, story_id: int, *, channel_id: int | None) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM subscriptions WHERE story_id = ? AND ifnull(channel_id, -1) ="
                " ifnull(?, -1)",
                (story_id, channel_id),
            )
            return cursor.rowcount > 0

    async def subscriptions(
        self, *, guild_id: int | None = None, story_id: int | None = None
    ) -> list[SubscriptionRecord]:
        rows = await self._query_all(
            "SELECT * FROM subscriptions WHERE (? IS NULL OR guild_id = ?)"
            " AND (? IS NULL OR story_id = ?) ORDER BY id",
            (guild_id, guild_id, story_id, story_id),
        )
        return [SubscriptionRecord.from_row(row) for row in rows]

    async def get_subscription(self, subscription_id: int) -> SubscriptionRecord | None:
        row = await self._query_one("SELECT * FROM subscriptions WHERE id = ?", (subscription_id,))
        return None if row is None else SubscriptionRecord.from_row(row)
