"""What delivery to Discord keeps between sends: claimed batches, throttled edits, threads,
digests, backfills, and what was announced once. A mixin of `Store` (same connection, lock
and transactions), kept apart so that the outbox's own code stays readable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.model import Entry, NewEntry
from bot.store.codec import change_from_json, from_us, to_us
from bot.store.records import SubscriptionRecord

MAX_EMBEDS = 10  # a message shows at most this many updates


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """A message that showed an entry to a subscription (to edit it in place)."""

    id: int
    message_id: int
    channel_id: int | None
    posted_at: datetime
    edited_at: datetime | None
    digest: bool


@dataclass(frozen=True, slots=True)
class MessageEntry:
    """One update shown in a posted message: as it was posted (`shown`), and whether it has
    been edited in place since (`edited_at`)."""

    posted_id: int
    source_id: int
    entry_id: str
    edited_at: datetime | None
    shown: Entry | None  # None when the outbox row that posted it is gone


def digest_nonce(subscription_id: int, period_end: datetime) -> str:
    """The nonce of a subscription's digest for the period ending at `period_end`."""
    raw = f"digest:{subscription_id}:{to_us(period_end)}".encode()
    return "d" + hashlib.sha256(raw).hexdigest()[:24]


class DeliveryStateMixin:
    """Methods of `Store` for the Discord sink and the digests."""

    # `_transaction`, `_query_one`, `_query_all`, `latest_entries` come from Store.

    async def get_subscription(self, subscription_id: int) -> SubscriptionRecord | None:
        row = await self._query_one("SELECT * FROM subscriptions WHERE id = ?", (subscription_id,))
        return None if row is None else SubscriptionRecord.from_row(row)

    # --- batches ---------------------------------------------------------------------------

    async def claim_batch(
        self, delivery_ids: Sequence[int], batch: str, *, more: int = 0, now: datetime
    ) -> None:
        """These pending rows go out together as one message with nonce `batch` (which says
        "and `more` more"); after a crash they are sent again together, under that nonce.
        The claim's time is kept in `next_attempt` (it stays due), so that a resend can tell
        whether Discord's nonce window still covers it."""
        async with self._transaction() as db:
            await db.executemany(
                "UPDATE deliveries SET batch = ?, batch_more = ?, next_attempt = ?"
                " WHERE id = ? AND state = 'pending'",
                [(batch, more, to_us(now), delivery_id) for delivery_id in delivery_ids],
            )

    async def unclaim(self, delivery_ids: Sequence[int]) -> None:
        """Pending rows Discord refused outright (403/404): not in flight any more, so they
        are batched afresh when they go again."""
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
        """Rows that went out in one message: all sent; a posted message recorded for those in
        `record` (default: all) so that their entries' edits can reach it."""
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
        """The newest message that showed this entry to this subscription."""
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
        """The updates shown in the (non-digest) message of `posted`, in the message's order,
        so that an edit can rebuild the whole message. A message's rows are written by one
        transaction (`mark_batch_sent`), so their ids are consecutive: a range of the primary
        key finds them without an index on message_id."""
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
        """Hold a throttled edit back until `until`, without counting an attempt and without
        holding back the subscription's later rows."""
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
        """Pause a subscription; True only when it was running (so the alert is said once)."""
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
        """Thread mode: the story's thread in the channel and the message that holds its key
        points (None, None: forget them, e.g. the thread was deleted)."""
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
        """Running digest subscriptions of active stories."""
        rows = await self._query_all(
            "SELECT sub.* FROM subscriptions sub JOIN stories st ON st.id = sub.story_id"
            " LEFT JOIN guilds g ON g.id = sub.guild_id"
            " WHERE sub.mode = 'digest' AND sub.paused_at IS NULL AND st.paused_at IS NULL"
            " AND g.left_at IS NULL ORDER BY sub.id"
        )
        return [SubscriptionRecord.from_row(row) for row in rows]

    async def key_points_changed_since(self, story_id: int, since: datetime) -> bool:
        """Did any source of the story get a new key-point version after `since`?"""
        row = await self._query_one(
            "SELECT 1 FROM key_points k JOIN story_sources ss ON ss.source_id = k.source_id"
            " WHERE ss.story_id = ? AND k.created_at > ? LIMIT 1",
            (story_id, to_us(since)),
        )
        return row is not None

    async def record_digest(
        self,
        subscription_id: int,
        *,
        now: datetime,
        message_id: int | None,
        channel_id: int | None,
        entries: Sequence[tuple[int, str]],
    ) -> None:
        """A digest went out at `now` (message_id None: there was nothing to say): the next
        one starts here; its entries are marked as shown in a digest (edits become corrections)."""
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
