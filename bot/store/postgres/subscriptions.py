"""Servers, their settings and their channels' subscriptions in PostgreSQL; backfills."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.model import DEFAULT_DIGEST_PERIOD, Mode, NewEntry
from bot.store.codec import change_to_json, to_us
from bot.store.errors import StoreError
from bot.store.interface import SubscriptionsStore
from bot.store.postgres.database import Connection, Database, affected, clean, clean_or_none
from bot.store.records import Backfill, DeliveryHealth, StoredEntryRecord, SubscriptionRecord
from bot.store.rules import outbox_nonce


def _now() -> datetime:
    return datetime.now(UTC)


class Subscriptions(Database, SubscriptionsStore):
    async def queue_backfill(
        self, subscription_id: int, entries: Sequence[StoredEntryRecord], *, now: datetime
    ) -> Backfill:
        now_us = to_us(now)

        async def work(db: Connection) -> Backfill:
            # each update once: those this subscription has posted (or queued) already stay out
            shown = {
                (row[0], row[1])
                for row in await db.fetch(
                    "SELECT source_id, entry_id FROM deliveries"
                    " WHERE subscription_id = $1 AND kind = 'new'",
                    subscription_id,
                )
            }
            records = [r for r in entries if (r.source_id, clean(r.entry.id)) not in shown]
            await db.execute(
                "INSERT INTO deliveries (subscription_id, source_id, entry_id, kind, payload,"
                " next_attempt, nonce, created_at, backfill)"
                " SELECT $1, u.source_id, u.entry_id, 'new', u.payload, $2, u.nonce, $2, true"
                " FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[])"
                " WITH ORDINALITY AS u(source_id, entry_id, payload, nonce, n)"
                " WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = $1) ORDER BY u.n",
                subscription_id,
                now_us,
                [record.source_id for record in records],
                [clean(record.entry.id) for record in records],
                [change_to_json(NewEntry(record.entry)) for record in records],
                [
                    outbox_nonce(
                        subscription_id, record.source_id, "backfill", record.entry.id, now_us
                    )
                    for record in records
                ],
            )
            return Backfill(len(records), already=len(entries) - len(records))

        return await self._write(work)

    async def delivery_health(self, guild_id: int) -> dict[int, DeliveryHealth]:
        rows = await self._fetch(
            "SELECT d.subscription_id,"
            " count(*) FILTER (WHERE d.state = 'pending' AND d.attempts > 0),"
            " count(*) FILTER (WHERE d.state = 'given_up'),"
            " (SELECT e.last_error FROM deliveries e WHERE e.subscription_id = d.subscription_id"
            "  AND e.last_error IS NOT NULL ORDER BY e.id DESC LIMIT 1)"
            " FROM deliveries d JOIN subscriptions sub ON sub.id = d.subscription_id"
            " WHERE sub.guild_id = $1 AND (d.state = 'given_up'"
            "  OR (d.state = 'pending' AND d.attempts > 0))"
            " GROUP BY d.subscription_id",
            guild_id,
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
        async def work(db: Connection) -> None:
            await db.execute(
                "INSERT INTO guilds (id, joined_at) VALUES ($1, $2)"
                " ON CONFLICT (id) DO UPDATE SET left_at = NULL",
                guild_id,
                to_us(now),
            )

        await self._write(work)

    async def present_guilds(self) -> list[int]:
        rows = await self._fetch("SELECT id FROM guilds WHERE left_at IS NULL ORDER BY id")
        return [row[0] for row in rows]

    async def guild_left(self, guild_id: int, *, now: datetime) -> None:
        async def work(db: Connection) -> None:
            await db.execute("UPDATE guilds SET left_at = $1 WHERE id = $2", to_us(now), guild_id)

        await self._write(work)

    async def set_alerts_channel(self, guild_id: int, channel_id: int | None) -> None:
        async def work(db: Connection) -> None:
            await db.execute(
                "INSERT INTO guilds (id, joined_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                guild_id,
                to_us(_now()),
            )
            await db.execute(
                "INSERT INTO guild_settings (guild_id, alerts_channel_id) VALUES ($1, $2)"
                " ON CONFLICT (guild_id) DO UPDATE"
                " SET alerts_channel_id = excluded.alerts_channel_id",
                guild_id,
                channel_id,
            )

        await self._write(work)

    async def alerts_channel(self, guild_id: int) -> int | None:
        value = await self._fetchval(
            "SELECT alerts_channel_id FROM guild_settings WHERE guild_id = $1", guild_id
        )
        return None if value is None else int(value)

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

        async def work(db: Connection) -> int:
            if guild_id is not None:
                await db.execute(
                    "INSERT INTO guilds (id, joined_at) VALUES ($1, $2)"
                    " ON CONFLICT (id) DO NOTHING",
                    guild_id,
                    now_us,
                )
            subscription_id = await db.fetchval(
                "INSERT INTO subscriptions (story_id, guild_id, target, channel_id, mode, every,"
                " mention_role_id, keywords, thread, created_at, exclusions, pattern, forum,"
                " channel_name)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                " ON CONFLICT (story_id, target, (coalesce(channel_id, -1))) DO UPDATE SET"
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
                story_id,
                guild_id,
                target,
                channel_id,
                Mode(mode).value,
                every,
                mention_role_id,
                clean_or_none(keywords),
                bool(thread or forum),
                now_us,
                clean_or_none(exclusions),
                clean_or_none(pattern),
                bool(forum),
                clean_or_none(channel_name),
            )
            return int(subscription_id)

        return await self._write(work)

    async def rename_channel(self, channel_id: int, name: str) -> int:
        async def work(db: Connection) -> int:
            status = await db.execute(
                "UPDATE subscriptions SET channel_name = $1 WHERE channel_id = $2"
                " AND channel_name IS DISTINCT FROM $1",
                clean(name),
                channel_id,
            )
            return affected(status)

        return await self._write(work)

    async def unsubscribe(self, story_id: int, *, channel_id: int | None) -> bool:
        async def work(db: Connection) -> bool:
            status = await db.execute(
                "DELETE FROM subscriptions WHERE story_id = $1"
                " AND coalesce(channel_id, -1) = coalesce($2::bigint, -1)",
                story_id,
                channel_id,
            )
            return affected(status) > 0

        return await self._write(work)

    async def subscriptions(
        self, *, guild_id: int | None = None, story_id: int | None = None
    ) -> list[SubscriptionRecord]:
        rows = await self._fetch(
            "SELECT * FROM subscriptions WHERE ($1::bigint IS NULL OR guild_id = $1)"
            " AND ($2::bigint IS NULL OR story_id = $2) ORDER BY id",
            guild_id,
            story_id,
        )
        return [SubscriptionRecord.from_row(row) for row in rows]

    async def get_subscription(self, subscription_id: int) -> SubscriptionRecord | None:
        row = await self._fetchrow("SELECT * FROM subscriptions WHERE id = $1", subscription_id)
        return None if row is None else SubscriptionRecord.from_row(row)
