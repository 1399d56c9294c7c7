"""The outbox in SQLite: pending deliveries and alerts, what was sent, claimed batches,
throttled edits, threads, digests and what was announced once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.model import NewEntry
from bot.store.codec import change_from_json, from_us, moment_from_us, to_us
from bot.store.errors import StoreError
from bot.store.interface import OutboxStore
from bot.store.records import (
    Alert,
    Delivery,
    MessageEntry,
    PostedMessage,
    SubscriptionRecord,
)
from bot.store.sqlite.database import Database

MAX_EMBEDS = 10  # a message shows at most this many updates


class Outbox(Database, OutboxStore):
    async def pending_deliveries(
        self, now: datetime, limit: int = 100, *, targets: Iterable[str] | None = None
    ) -> list[Delivery]:
        now_us = to_us(now)
        wanted = None if targets is None else json.dumps(sorted(targets))
        rows = await self._query_all(
            "SELECT d.*, sub.story_id, st.name AS story_name, sub.guild_id, sub.target,"
            " sub.channel_id, sub.thread, sub.thread_id, sub.mention_role_id, sub.mode,"
            " sub.keywords, src.url AS source_url"
            " FROM deliveries d JOIN subscriptions sub ON sub.id = d.subscription_id"
            " JOIN stories st ON st.id = sub.story_id"
            " LEFT JOIN sources src ON src.id = d.source_id"
            " WHERE d.state = 'pending' AND d.next_attempt <= ? AND sub.paused_at IS NULL"
            " AND (? IS NULL OR sub.target IN (SELECT value FROM json_each(?)))"
            " AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.subscription_id ="
            "  d.subscription_id AND e.state = 'pending' AND e.id < d.id AND e.next_attempt > ?"
            "  AND NOT e.deferred)"
            " ORDER BY d.id LIMIT ?",
            (now_us, wanted, wanted, now_us, limit),
        )
        return [Delivery.from_row(row) for row in rows]

    async def mark_sent(
        self,
        delivery_id: int,
        message_id: int | None,
        *,
        now: datetime,
        channel_id: int | None = None,
        digest: bool = False,
    ) -> None:
        now_us = to_us(now)
        async with self._transaction() as db:
            row = await self._fetchone(
                "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?"
                " RETURNING subscription_id, source_id, entry_id",
                (message_id, now_us, delivery_id),
            )
            if row is None:
                raise StoreError(f"no delivery with id {delivery_id}")
            if message_id is not None:
                await db.execute(
                    "INSERT INTO posted_messages (delivery_id, subscription_id, source_id,"
                    " entry_id, channel_id, message_id, posted_at, digest)"
                    " SELECT ?, ?, ?, ?, ifnull(?, ifnull(thread_id, channel_id)), ?, ?, ?"
                    " FROM subscriptions WHERE id = ?",
                    (
                        delivery_id,
                        row[0],
                        row[1],
                        row[2],
                        channel_id,
                        message_id,
                        now_us,
                        digest,
                        row[0],
                    ),
                )

    async def mark_retry(self, delivery_id: int, *, error: str, next_attempt: datetime) -> None:
        await self._retry_later("deliveries", delivery_id, error, next_attempt)

    async def mark_undeliverable(self, delivery_id: int, *, error: str) -> None:
        await self._give_up("deliveries", delivery_id, error)

    async def _retry_later(
        self, table: str, row_id: int, error: str, next_attempt: datetime
    ) -> None:
        """Shared by the outbox and the alerts: one more failed attempt, next try later."""
        async with self._transaction() as db:
            await db.execute(
                f"UPDATE {table} SET attempts = attempts + 1, last_error = ?,"  # noqa: S608 - our table names
                " next_attempt = ? WHERE id = ? AND state = 'pending'",
                (error, to_us(next_attempt), row_id),
            )

    async def _give_up(self, table: str, row_id: int, error: str) -> None:
        """Shared by the outbox and the alerts: kept as undeliverable, never dropped."""
        async with self._transaction() as db:
            await db.execute(
                f"UPDATE {table} SET state = 'undeliverable', attempts = attempts + 1,"  # noqa: S608
                " last_error = ? WHERE id = ?",
                (error, row_id),
            )

    async def posted_message(
        self, subscription_id: int, source_id: int, entry_id: str
    ) -> tuple[int, int | None, datetime, bool] | None:
        row = await self._query_one(
            "SELECT message_id, channel_id, posted_at, digest FROM posted_messages"
            " WHERE subscription_id = ? AND source_id = ? AND entry_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (subscription_id, source_id, entry_id),
        )
        if row is None:
            return None
        return row[0], row[1], moment_from_us(row[2]), bool(row[3])

    async def pending_alerts(
        self, now: datetime, limit: int = 100, *, console: bool = True, guilds: bool = True
    ) -> list[Alert]:
        rows = await self._query_all(
            "SELECT a.*, s.url AS source_url FROM alerts a LEFT JOIN sources s"
            " ON s.id = a.source_id WHERE a.state = 'pending' AND a.next_attempt <= ?"
            " AND ((? AND a.guild_id IS NULL) OR (? AND a.guild_id IS NOT NULL))"
            " ORDER BY a.id LIMIT ?",
            (to_us(now), console, guilds, limit),
        )
        return [Alert.from_row(row) for row in rows]

    async def mark_alert_sent(
        self, alert_id: int, message_id: int | None = None, *, now: datetime
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE alerts SET state = 'sent', message_id = ?, sent_at = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                (message_id, to_us(now), alert_id),
            )

    async def mark_alert_retry(self, alert_id: int, *, error: str, next_attempt: datetime) -> None:
        await self._retry_later("alerts", alert_id, error, next_attempt)

    async def mark_alert_undeliverable(self, alert_id: int, *, error: str) -> None:
        await self._give_up("alerts", alert_id, error)

    # --- batches ---------------------------------------------------------------------------

    async def claim_batch(
        self, delivery_ids: Sequence[int], batch: str, *, more: int = 0, now: datetime
    ) -> None:
        async with self._transaction() as db:
            await db.executemany(
                "UPDATE deliveries SET batch = ?, batch_more = ?, next_attempt = ?"
                " WHERE id = ? AND state = 'pending'",
                [(batch, more, to_us(now), delivery_id) for delivery_id in delivery_ids],
            )

    async def unclaim(self, delivery_ids: Sequence[int]) -> None:
        async with self._transaction() as db:
            await db.executemany(
                "UPDATE deliveries SET batch = NULL, batch_more = 0"
                " WHERE id = ? AND state = 'pending'",
                [(delivery_id,) for delivery_id in delivery_ids],
            )

    async def mark_batch_sent(
        self,
        delivery_ids: Sequence[int],
        message_id: int | None,
        *,
        now: datetime,
        channel_id: int | None,
        record: Sequence[int] | None = None,
    ) -> None:
        now_us = to_us(now)
        recorded = set(delivery_ids if record is None else record)
        async with self._transaction() as db:
            for delivery_id in delivery_ids:
                row = await self._fetchone(
                    "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?,"
                    " attempts = attempts + 1, last_error = NULL, deferred = 0"
                    " WHERE id = ? AND state = 'pending'"
                    " RETURNING subscription_id, source_id, entry_id",
                    (message_id, now_us, delivery_id),
                )
                if row is None or message_id is None or delivery_id not in recorded:
                    continue
                await db.execute(
                    "INSERT INTO posted_messages (delivery_id, subscription_id, source_id,"
                    " entry_id, channel_id, message_id, posted_at, digest)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                    (delivery_id, row[0], row[1], row[2], channel_id, message_id, now_us),
                )

    # --- edits -----------------------------------------------------------------------------

    async def posted_message_record(
        self, subscription_id: int, source_id: int, entry_id: str
    ) -> PostedMessage | None:
        row = await self._query_one(
            "SELECT id, message_id, channel_id, posted_at, edited_at, digest FROM posted_messages"
            " WHERE subscription_id = ? AND source_id = ? AND entry_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (subscription_id, source_id, entry_id),
        )
        if row is None:
            return None
        posted_at = from_us(row[3])
        assert posted_at is not None
        return PostedMessage(row[0], row[1], row[2], posted_at, from_us(row[4]), bool(row[5]))

    async def message_entries(self, posted: PostedMessage) -> list[MessageEntry]:
        rows = await self._query_all(
            "SELECT p.id, p.source_id, p.entry_id, p.edited_at, d.payload"
            " FROM posted_messages p LEFT JOIN deliveries d ON d.id = p.delivery_id"
            " WHERE p.id BETWEEN ? AND ? AND p.message_id = ? AND p.digest = 0"
            " AND p.subscription_id = (SELECT subscription_id FROM posted_messages WHERE id = ?)"
            " ORDER BY p.id",
            (posted.id - MAX_EMBEDS + 1, posted.id + MAX_EMBEDS - 1, posted.message_id, posted.id),
        )
        found = []
        for row in rows:
            shown = None
            if row[4] is not None:
                change = change_from_json(row[4])
                shown = change.entry if isinstance(change, NewEntry) else None
            found.append(MessageEntry(row[0], row[1], row[2], from_us(row[3]), shown))
        return found

    async def mark_message_edited(self, posted_id: int, *, now: datetime) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE posted_messages SET edited_at = ? WHERE id = ?", (to_us(now), posted_id)
            )

    async def defer_delivery(self, delivery_id: int, *, until: datetime) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE deliveries SET deferred = 1, next_attempt = ?"
                " WHERE id = ? AND state = 'pending'",
                (to_us(until), delivery_id),
            )

    # --- subscriptions ---------------------------------------------------------------------

    async def pause_subscription_once(
        self, subscription_id: int, *, reason: str, now: datetime
    ) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE subscriptions SET paused_at = ?, pause_reason = ?"
                " WHERE id = ? AND paused_at IS NULL",
                (to_us(now), reason, subscription_id),
            )
            return cursor.rowcount > 0

    async def set_thread_starter(
        self, subscription_id: int, *, thread_id: int | None, starter_message_id: int | None
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE subscriptions SET thread_id = ?, starter_message_id = ? WHERE id = ?",
                (thread_id, starter_message_id, subscription_id),
            )

    async def set_announced_status(self, subscription_id: int, status: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE subscriptions SET announced_status = ? WHERE id = ?",
                (status, subscription_id),
            )

    # --- digests ---------------------------------------------------------------------------

    async def digest_subscriptions(self) -> list[SubscriptionRecord]:
        rows = await self._query_all(
            "SELECT sub.* FROM subscriptions sub JOIN stories st ON st.id = sub.story_id"
            " LEFT JOIN guilds g ON g.id = sub.guild_id"
            " WHERE sub.mode = 'digest' AND sub.paused_at IS NULL AND st.paused_at IS NULL"
            " AND g.left_at IS NULL ORDER BY sub.id"
        )
        return [SubscriptionRecord.from_row(row) for row in rows]

    async def record_digest(
        self,
        subscription_id: int,
        *,
        now: datetime,
        message_id: int | None,
        channel_id: int | None,
        entries: Sequence[tuple[int, str]],
    ) -> None:
        now_us = to_us(now)
        async with self._transaction() as db:
            await db.execute(
                "UPDATE subscriptions SET last_digest_at = ? WHERE id = ?",
                (now_us, subscription_id),
            )
            if message_id is not None:
                await db.executemany(
                    "INSERT INTO posted_messages (subscription_id, source_id, entry_id,"
                    " channel_id, message_id, posted_at, digest) VALUES (?, ?, ?, ?, ?, ?, 1)",
                    [
                        (subscription_id, source_id, entry_id, channel_id, message_id, now_us)
                        for source_id, entry_id in entries
                    ],
                )
