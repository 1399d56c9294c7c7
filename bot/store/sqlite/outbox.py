"""The outbox in SQLite: what is due, claims, the record of every attempt and what it left
(posted messages, threads, what was announced, pauses), digests, and the delivery history."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import aiosqlite

from bot.model import AlertContent, AlertKind, DigestContent, NewEntry, PauseReason
from bot.outcome import (
    Announced,
    EditedInPlace,
    Outcome,
    Paused,
    Retry,
    Sent,
    Shown,
    ThreadForgotten,
    ThreadStarted,
)
from bot.store.codec import (
    alert_to_json,
    change_from_json,
    digest_to_json,
    from_us,
    moment_from_us,
    to_us,
    to_us_or_none,
)
from bot.store.interface import OutboxStore
from bot.store.records import (
    Delivery,
    DeliveryAttempt,
    MessageEntry,
    PostedMessage,
    SubscriptionRecord,
)
from bot.store.rules import MAX_EMBEDS
from bot.store.rules import nonce as _nonce
from bot.store.sqlite.database import Database

# A pending row, with its subscription's story and target (an alert: its server's, or the
# console's when it has none) and its source's address.
_PENDING = (
    "SELECT d.id, d.subscription_id, d.source_id, d.entry_id, d.kind, d.payload, d.attempts,"
    " d.next_attempt, d.nonce, d.created_at, d.backfill, d.batch, d.batch_more, d.deferred,"
    " sub.story_id, st.name AS story_name, ifnull(sub.guild_id, d.guild_id) AS guild_id,"
    " ifnull(sub.target, CASE WHEN d.guild_id IS NULL THEN 'console' ELSE 'discord' END)"
    " AS target, sub.channel_id, sub.mention_role_id, src.url AS source_url"
    " FROM deliveries d LEFT JOIN subscriptions sub ON sub.id = d.subscription_id"
    " LEFT JOIN stories st ON st.id = sub.story_id"
    " LEFT JOIN sources src ON src.id = d.source_id"
)


class Outbox(Database, OutboxStore):
    async def pending_deliveries(
        self, now: datetime, limit: int = 100, *, targets: Iterable[str] | None = None
    ) -> list[Delivery]:
        now_us = to_us(now)
        wanted = None if targets is None else json.dumps(sorted(targets))
        rows = await self._query_all(
            f"SELECT * FROM ({_PENDING}"  # noqa: S608 - our own SQL
            " WHERE d.state = 'pending' AND d.next_attempt <= ?"
            " AND (d.subscription_id IS NULL OR sub.paused_at IS NULL)"
            # a subscription whose earlier row waits for a retry gets nothing later meanwhile
            " AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.subscription_id ="
            "  d.subscription_id AND e.state = 'pending' AND e.id < d.id AND e.next_attempt > ?"
            "  AND NOT e.deferred))"
            " WHERE (? IS NULL OR target IN (SELECT value FROM json_each(?)))"
            " ORDER BY id LIMIT ?",
            (now_us, now_us, wanted, wanted, limit),
        )
        return [Delivery.from_row(row) for row in rows]

    async def queue_starter(self, subscription_id: int, *, now: datetime) -> Delivery | None:
        now_us = to_us(now)
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO deliveries (subscription_id, kind, payload, next_attempt, nonce,"
                " created_at) SELECT id, 'starter', '{}', ?, ?, ? FROM subscriptions"
                " WHERE id = ? AND thread AND thread_id IS NULL ON CONFLICT DO NOTHING",
                (now_us, _nonce("t", "starter", subscription_id, now_us), now_us, subscription_id),
            )
            row = await self._fetchone(
                f"{_PENDING} WHERE d.subscription_id = ? AND d.kind = 'starter'"
                " AND d.state = 'pending'",
                (subscription_id,),
            )
        return None if row is None else Delivery.from_row(row)

    async def claim(
        self, units: Sequence[tuple[Sequence[int], str, int]], *, now: datetime
    ) -> None:
        now_us = to_us(now)
        async with self._transaction() as db:
            await db.executemany(
                "UPDATE deliveries SET batch = ?, batch_more = ?, next_attempt = ?"
                " WHERE id = ? AND state = 'pending' AND batch IS NULL",
                [(nonce, more, now_us, row) for ids, nonce, more in units for row in ids],
            )

    async def record_delivery(
        self, rows: Sequence[Delivery], outcome: Outcome, *, now: datetime
    ) -> bool:
        now_us = to_us(now)
        ids = [row.id for row in rows]
        async with self._transaction() as db:
            told = False
            match outcome:
                case Sent():
                    await db.executemany(
                        "UPDATE deliveries SET state = 'sent', message_id = ?, channel_id = ?,"
                        " sent_at = ?, attempts = attempts + 1, last_reason = NULL,"
                        " last_error = NULL, deferred = 0 WHERE id = ? AND state = 'pending'",
                        [(outcome.message_id, outcome.channel_id, now_us, i) for i in ids],
                    )
                    await self._apply_effects(db, rows, outcome, now_us)
                case Retry():
                    assert outcome.at is not None, "the dispatcher sets when to retry"
                    await db.executemany(
                        "UPDATE deliveries SET attempts = attempts + ?, last_reason = ?,"
                        " last_error = ?, next_attempt = ?, deferred = ?"
                        " WHERE id = ? AND state = 'pending'",
                        [
                            (
                                int(outcome.counted),
                                outcome.reason.value,
                                outcome.detail,
                                to_us(outcome.at),
                                int(not outcome.holds),
                                i,
                            )
                            for i in ids
                        ],
                    )
                    await self._apply_effects(db, rows, outcome, now_us)
                case Paused():
                    # not in flight any more: batched afresh when the subscription resumes
                    await db.executemany(
                        "UPDATE deliveries SET batch = NULL, batch_more = 0, last_reason = ?,"
                        " last_error = ? WHERE id = ? AND state = 'pending'",
                        [(outcome.reason.value, outcome.detail, i) for i in ids],
                    )
                    if rows[0].subscription_id is not None:
                        told = await self._pause(
                            db, rows[0].subscription_id, outcome.reason, outcome.detail, now_us
                        )
                case _:
                    await db.executemany(
                        "UPDATE deliveries SET state = 'given_up', attempts = attempts + 1,"
                        " last_reason = ?, last_error = ? WHERE id = ? AND state = 'pending'",
                        [(outcome.reason.value, outcome.detail, i) for i in ids],
                    )
            await self._write_history(db, rows, outcome, now_us)
            return told

    async def _apply_effects(
        self,
        db: aiosqlite.Connection,
        rows: Sequence[Delivery],
        outcome: Sent | Retry,
        now_us: int,
    ) -> None:
        sub_id = rows[0].subscription_id
        for effect in outcome.effects:
            match effect:
                case Shown(entries=entries, digest=digest):
                    assert isinstance(outcome, Sent) and outcome.message_id is not None
                    by_entry = {(row.source_id, row.entry_id): row.id for row in rows}
                    await db.executemany(
                        "INSERT INTO posted_messages (delivery_id, subscription_id, source_id,"
                        " entry_id, channel_id, message_id, posted_at, digest)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            (
                                by_entry.get((source_id, entry_id)),
                                sub_id,
                                source_id,
                                entry_id,
                                outcome.channel_id,
                                outcome.message_id,
                                now_us,
                                digest,
                            )
                            for source_id, entry_id in entries
                        ],
                    )
                case EditedInPlace(posted_id=posted_id):
                    await db.execute(
                        "UPDATE posted_messages SET edited_at = ? WHERE id = ?", (now_us, posted_id)
                    )
                case ThreadStarted(thread_id=thread_id, starter_message_id=starter):
                    await db.execute(
                        "UPDATE subscriptions SET thread_id = ?, starter_message_id = ?"
                        " WHERE id = ?",
                        (thread_id, starter, sub_id),
                    )
                case ThreadForgotten(tell=tell):
                    lost = await self._fetchone(
                        "UPDATE subscriptions SET thread_id = NULL"
                        " WHERE id = ? AND thread_id IS NOT NULL"
                        " RETURNING guild_id, story_id, channel_id, channel_name, forum, thread",
                        (sub_id,),
                    )
                    if tell and lost is not None and lost["guild_id"] is not None:
                        await self._queue_alert(
                            db,
                            lost,
                            AlertKind.POST_REPLACED,
                            _nonce("r", "replaced", sub_id, now_us),
                            now_us,
                        )
                case Announced(status=status):
                    await db.execute(
                        "UPDATE subscriptions SET announced_status = ? WHERE id = ?",
                        (status.value, sub_id),
                    )

    async def _pause(
        self,
        db: aiosqlite.Connection,
        subscription_id: int,
        reason: PauseReason,
        detail: str | None,
        now_us: int,
    ) -> bool:
        """Pause a running subscription and queue the alert that says so: True when it was
        running (so it is said once)."""
        paused = await self._fetchone(
            "UPDATE subscriptions SET paused_at = ?, pause_reason = ?, pause_detail = ?"
            " WHERE id = ? AND paused_at IS NULL"
            " RETURNING id, guild_id, story_id, channel_id, thread, channel_name, forum",
            (now_us, reason.value, detail, subscription_id),
        )
        if paused is None or paused["guild_id"] is None:
            return paused is not None
        nonce = _nonce("p", "pause", subscription_id, now_us)
        await self._queue_alert(
            db, paused, AlertKind.SUBSCRIPTION_PAUSED, nonce, now_us, reason=reason, detail=detail
        )
        return True

    async def _queue_alert(
        self,
        db: aiosqlite.Connection,
        sub: aiosqlite.Row,
        kind: AlertKind,
        nonce: str,
        now_us: int,
        *,
        reason: PauseReason | None = None,
        detail: str | None = None,
    ) -> None:
        """An alert about a subscription (SUB: its guild, story, channel and kind) to its
        server's moderators."""
        story = await self._fetchone("SELECT name FROM stories WHERE id = ?", (sub["story_id"],))
        alert = AlertContent(
            kind=kind,
            story=None if story is None else story[0],
            channel_id=sub["channel_id"],
            thread=bool(sub["thread"]),
            pause_reason=reason,
            pause_detail=detail,
            channel_name=sub["channel_name"],
            forum=bool(sub["forum"]),
        )
        await db.execute(
            "INSERT INTO deliveries (guild_id, kind, payload, next_attempt, nonce, created_at)"
            " VALUES (?, 'alert', ?, ?, ?, ?)",
            (sub["guild_id"], alert_to_json(alert), now_us, nonce, now_us),
        )

    async def _write_history(
        self,
        db: aiosqlite.Connection,
        rows: Sequence[Delivery],
        outcome: Outcome,
        now_us: int,
    ) -> None:
        reason = getattr(outcome, "reason", None)
        detail = getattr(outcome, "detail", None) or getattr(outcome, "note", None)
        message_id = outcome.message_id if isinstance(outcome, Sent) else None
        channel_id = outcome.channel_id if isinstance(outcome, Sent) else None
        retry_at = to_us_or_none(outcome.at) if isinstance(outcome, Retry) else None
        kind = outcome.outcome
        await db.executemany(
            "INSERT INTO delivery_attempts (delivery_id, subscription_id, story_id, guild_id,"
            " channel_id, kind, source_id, entry_id, title, at, outcome, reason, detail,"
            " message_id, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    row.id,
                    row.subscription_id,
                    row.story_id,
                    row.guild_id,
                    channel_id or row.channel_id,
                    row.kind.value,
                    row.source_id,
                    row.entry_id,
                    _title(row),
                    now_us,
                    kind.value,
                    None if reason is None else str(reason),
                    detail,
                    message_id,
                    retry_at,
                )
                for row in rows
            ],
        )

    async def pause_subscription(
        self, subscription_id: int, *, reason: PauseReason, detail: str | None, now: datetime
    ) -> bool:
        async with self._transaction() as db:
            return await self._pause(db, subscription_id, reason, detail, to_us(now))

    async def delivery_history(
        self,
        guild_id: int,
        *,
        story_id: int | None = None,
        limit: int = 20,
        subscription_ids: Sequence[int] | None = None,
    ) -> list[DeliveryAttempt]:
        subs = None if subscription_ids is None else json.dumps(list(subscription_ids))
        rows = await self._query_all(
            "SELECT * FROM delivery_attempts WHERE guild_id = ? AND (? IS NULL OR story_id = ?)"
            " AND (? IS NULL OR subscription_id IN (SELECT value FROM json_each(?)))"
            " ORDER BY id DESC LIMIT ?",
            (guild_id, story_id, story_id, subs, subs, limit),
        )
        return [DeliveryAttempt.from_row(row) for row in rows]

    # --- edits -----------------------------------------------------------------------------

    async def posted_message(
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
        return PostedMessage(
            row[0], row[1], row[2], moment_from_us(row[3]), from_us(row[4]), bool(row[5])
        )

    async def message_entries(self, posted: PostedMessage) -> list[MessageEntry]:
        # A message's rows are written by one transaction, so their ids are consecutive: a
        # range of the primary key finds them without an index on message_id.
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

    # --- digests ---------------------------------------------------------------------------

    async def digest_subscriptions(self) -> list[SubscriptionRecord]:
        rows = await self._query_all(
            "SELECT sub.* FROM subscriptions sub JOIN stories st ON st.id = sub.story_id"
            " LEFT JOIN guilds g ON g.id = sub.guild_id"
            " WHERE sub.mode = 'digest' AND sub.paused_at IS NULL AND st.paused_at IS NULL"
            " AND g.left_at IS NULL ORDER BY sub.id"
        )
        return [SubscriptionRecord.from_row(row) for row in rows]

    async def close_digest(
        self,
        subscription_id: int,
        *,
        since: datetime,
        until: datetime,
        content: DigestContent | None,
        now: datetime,
    ) -> bool:
        until_us = to_us(until)
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE subscriptions SET last_digest_at = ? WHERE id = ?"
                " AND ifnull(last_digest_at, created_at) = ?",
                (until_us, subscription_id, to_us(since)),
            )
            if cursor.rowcount == 0:
                return False  # closed already (by another process, or before a restart)
            if content is not None:
                now_us = to_us(now)
                await db.execute(
                    "INSERT INTO deliveries (subscription_id, kind, payload, next_attempt, nonce,"
                    " created_at, period_end) VALUES (?, 'digest', ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (
                        subscription_id,
                        digest_to_json(content),
                        now_us,
                        _nonce("d", "digest", subscription_id, until_us),
                        now_us,
                        until_us,
                    ),
                )
            return True


def _title(row: Delivery) -> str | None:
    change = row.change
    entry = getattr(change, "entry", None)
    return None if entry is None else entry.title
