"""The outbox in PostgreSQL: what is due, claims, the record of every attempt and what it left
(posted messages, threads, what was announced, pauses), digests, and the delivery history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

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
from bot.store.postgres.database import (
    Connection,
    Database,
    Record,
    affected,
    clean,
    clean_or_none,
)
from bot.store.records import (
    Delivery,
    DeliveryAttempt,
    MessageEntry,
    PostedMessage,
    SubscriptionRecord,
)
from bot.store.rules import MAX_EMBEDS, nonce

# A pending row, with its subscription's story and target (an alert: its server's, or the
# console's when it has none) and its source's address.
_PENDING = (
    "SELECT d.id, d.subscription_id, d.source_id, d.entry_id, d.kind, d.payload, d.attempts,"
    " d.next_attempt, d.nonce, d.created_at, d.backfill, d.batch, d.batch_more, d.deferred,"
    " sub.story_id, st.name AS story_name, coalesce(sub.guild_id, d.guild_id) AS guild_id,"
    " coalesce(sub.target, CASE WHEN d.guild_id IS NULL THEN 'console' ELSE 'discord' END)"
    " AS target, sub.channel_id, sub.mention_role_id, src.url AS source_url"
    " FROM deliveries d LEFT JOIN subscriptions sub ON sub.id = d.subscription_id"
    " LEFT JOIN stories st ON st.id = sub.story_id"
    " LEFT JOIN sources src ON src.id = d.source_id"
)


class Outbox(Database, OutboxStore):
    async def pending_deliveries(
        self, now: datetime, limit: int = 100, *, targets: Iterable[str] | None = None
    ) -> list[Delivery]:
        wanted = None if targets is None else sorted(targets)
        rows = await self._fetch(
            f"SELECT * FROM ({_PENDING}"  # noqa: S608 - our own SQL
            " WHERE d.state = 'pending' AND d.next_attempt <= $1"
            " AND (d.subscription_id IS NULL OR sub.paused_at IS NULL)"
            # a subscription whose earlier row waits for a retry gets nothing later meanwhile
            " AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.subscription_id ="
            "  d.subscription_id AND e.state = 'pending' AND e.id < d.id AND e.next_attempt > $1"
            "  AND NOT e.deferred)) AS due"
            " WHERE ($2::text[] IS NULL OR target = ANY($2::text[]))"
            " ORDER BY id LIMIT $3",
            to_us(now),
            wanted,
            limit,
        )
        return [Delivery.from_row(row) for row in rows]

    async def queue_starter(self, subscription_id: int, *, now: datetime) -> Delivery | None:
        now_us = to_us(now)

        async def work(db: Connection) -> Delivery | None:
            await db.execute(
                "INSERT INTO deliveries (subscription_id, kind, payload, next_attempt, nonce,"
                " created_at) SELECT id, 'starter', '{}', $1, $2, $1 FROM subscriptions"
                " WHERE id = $3 AND thread AND thread_id IS NULL ON CONFLICT DO NOTHING",
                now_us,
                nonce("t", "starter", subscription_id, now_us),
                subscription_id,
            )
            row = await db.fetchrow(
                f"{_PENDING} WHERE d.subscription_id = $1 AND d.kind = 'starter'"
                " AND d.state = 'pending'",
                subscription_id,
            )
            return None if row is None else Delivery.from_row(row)

        return await self._write(work)

    async def claim(
        self, units: Sequence[tuple[Sequence[int], str, int]], *, now: datetime
    ) -> None:
        now_us = to_us(now)
        ids = [row for row_ids, _, _ in units for row in row_ids]
        nonces = [unit_nonce for row_ids, unit_nonce, _ in units for _ in row_ids]
        more = [unit_more for row_ids, _, unit_more in units for _ in row_ids]

        async def work(db: Connection) -> None:
            await db.execute(
                "UPDATE deliveries d SET batch = u.batch, batch_more = u.more, next_attempt = $1"
                " FROM unnest($2::bigint[], $3::text[], $4::integer[]) AS u(id, batch, more)"
                " WHERE d.id = u.id AND d.state = 'pending' AND d.batch IS NULL",
                now_us,
                ids,
                nonces,
                more,
            )

        await self._write(work)

    async def record_delivery(
        self, rows: Sequence[Delivery], outcome: Outcome, *, now: datetime
    ) -> bool:
        now_us = to_us(now)
        ids = [row.id for row in rows]

        async def work(db: Connection) -> bool:
            told = False
            match outcome:
                case Sent():
                    await db.execute(
                        "UPDATE deliveries SET state = 'sent', message_id = $1, channel_id = $2,"
                        " sent_at = $3, attempts = attempts + 1, last_reason = NULL,"
                        " last_error = NULL, deferred = false"
                        " WHERE id = ANY($4::bigint[]) AND state = 'pending'",
                        outcome.message_id,
                        outcome.channel_id,
                        now_us,
                        ids,
                    )
                    await _apply_effects(db, rows, outcome, now_us)
                case Retry():
                    assert outcome.at is not None, "the dispatcher sets when to retry"
                    await db.execute(
                        "UPDATE deliveries SET attempts = attempts + $1, last_reason = $2,"
                        " last_error = $3, next_attempt = $4, deferred = $5"
                        " WHERE id = ANY($6::bigint[]) AND state = 'pending'",
                        int(outcome.counted),
                        outcome.reason.value,
                        clean_or_none(outcome.detail),
                        to_us(outcome.at),
                        not outcome.holds,
                        ids,
                    )
                    await _apply_effects(db, rows, outcome, now_us)
                case Paused():
                    # not in flight any more: batched afresh when the subscription resumes
                    await db.execute(
                        "UPDATE deliveries SET batch = NULL, batch_more = 0, last_reason = $1,"
                        " last_error = $2 WHERE id = ANY($3::bigint[]) AND state = 'pending'",
                        outcome.reason.value,
                        clean_or_none(outcome.detail),
                        ids,
                    )
                    if rows[0].subscription_id is not None:
                        told = await _pause(
                            db, rows[0].subscription_id, outcome.reason, outcome.detail, now_us
                        )
                case _:
                    await db.execute(
                        "UPDATE deliveries SET state = 'given_up', attempts = attempts + 1,"
                        " last_reason = $1, last_error = $2"
                        " WHERE id = ANY($3::bigint[]) AND state = 'pending'",
                        outcome.reason.value,
                        clean_or_none(outcome.detail),
                        ids,
                    )
            await _write_history(db, rows, outcome, now_us)
            return told

        return await self._write(work)

    async def pause_subscription(
        self, subscription_id: int, *, reason: PauseReason, detail: str | None, now: datetime
    ) -> bool:
        async def work(db: Connection) -> bool:
            return await _pause(db, subscription_id, reason, detail, to_us(now))

        return await self._write(work)

    async def delivery_history(
        self,
        guild_id: int,
        *,
        story_id: int | None = None,
        limit: int = 20,
        subscription_ids: Sequence[int] | None = None,
    ) -> list[DeliveryAttempt]:
        rows = await self._fetch(
            "SELECT * FROM delivery_attempts WHERE guild_id = $1"
            " AND ($2::bigint IS NULL OR story_id = $2)"
            " AND ($4::bigint[] IS NULL OR subscription_id = ANY($4::bigint[]))"
            " ORDER BY id DESC LIMIT $3",
            guild_id,
            story_id,
            limit,
            None if subscription_ids is None else list(subscription_ids),
        )
        return [DeliveryAttempt.from_row(row) for row in rows]

    # --- edits -----------------------------------------------------------------------------

    async def posted_message(
        self, subscription_id: int, source_id: int, entry_id: str
    ) -> PostedMessage | None:
        row = await self._fetchrow(
            "SELECT id, message_id, channel_id, posted_at, edited_at, digest FROM posted_messages"
            " WHERE subscription_id = $1 AND source_id = $2 AND entry_id = $3"
            " ORDER BY id DESC LIMIT 1",
            subscription_id,
            source_id,
            clean(entry_id),
        )
        if row is None:
            return None
        return PostedMessage(
            row[0], row[1], row[2], moment_from_us(row[3]), from_us(row[4]), bool(row[5])
        )

    async def message_entries(self, posted: PostedMessage) -> list[MessageEntry]:
        # A message's rows are written by one transaction, so their ids are consecutive: a
        # range of the primary key finds them without an index on message_id.
        rows = await self._fetch(
            "SELECT p.id, p.source_id, p.entry_id, p.edited_at, d.payload"
            " FROM posted_messages p LEFT JOIN deliveries d ON d.id = p.delivery_id"
            " WHERE p.id BETWEEN $1 AND $2 AND p.message_id = $3 AND NOT p.digest"
            " AND p.subscription_id = (SELECT subscription_id FROM posted_messages WHERE id = $4)"
            " ORDER BY p.id",
            posted.id - MAX_EMBEDS + 1,
            posted.id + MAX_EMBEDS - 1,
            posted.message_id,
            posted.id,
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
        rows = await self._fetch(
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

        async def work(db: Connection) -> bool:
            status = await db.execute(
                "UPDATE subscriptions SET last_digest_at = $1 WHERE id = $2"
                " AND coalesce(last_digest_at, created_at) = $3",
                until_us,
                subscription_id,
                to_us(since),
            )
            if affected(status) == 0:
                return False  # closed already (by another process, or before a restart)
            if content is not None:
                now_us = to_us(now)
                await db.execute(
                    "INSERT INTO deliveries (subscription_id, kind, payload, next_attempt, nonce,"
                    " created_at, period_end) VALUES ($1, 'digest', $2, $3, $4, $3, $5)"
                    " ON CONFLICT DO NOTHING",
                    subscription_id,
                    digest_to_json(content),
                    now_us,
                    nonce("d", "digest", subscription_id, until_us),
                    until_us,
                )
            return True

        return await self._write(work)


async def _apply_effects(
    db: Connection, rows: Sequence[Delivery], outcome: Sent | Retry, now_us: int
) -> None:
    sub_id = rows[0].subscription_id
    for effect in outcome.effects:
        match effect:
            case Shown(entries=entries, digest=digest):
                assert isinstance(outcome, Sent) and outcome.message_id is not None
                by_entry = {(row.source_id, row.entry_id): row.id for row in rows}
                shown = [(source_id, clean(entry_id)) for source_id, entry_id in entries]
                await db.execute(
                    "INSERT INTO posted_messages (delivery_id, subscription_id, source_id,"
                    " entry_id, channel_id, message_id, posted_at, digest)"
                    " SELECT u.delivery_id, $1, u.source_id, u.entry_id, $2, $3, $4, $5"
                    " FROM unnest($6::bigint[], $7::bigint[], $8::text[])"
                    " WITH ORDINALITY AS u(delivery_id, source_id, entry_id, n) ORDER BY u.n",
                    sub_id,
                    outcome.channel_id,
                    outcome.message_id,
                    now_us,
                    bool(digest),
                    [by_entry.get(key) for key in shown],
                    [source_id for source_id, _ in shown],
                    [entry_id for _, entry_id in shown],
                )
            case EditedInPlace(posted_id=posted_id):
                await db.execute(
                    "UPDATE posted_messages SET edited_at = $1 WHERE id = $2", now_us, posted_id
                )
            case ThreadStarted(thread_id=thread_id, starter_message_id=starter):
                await db.execute(
                    "UPDATE subscriptions SET thread_id = $1, starter_message_id = $2"
                    " WHERE id = $3",
                    thread_id,
                    starter,
                    sub_id,
                )
            case ThreadForgotten(tell=tell):
                lost = await db.fetchrow(
                    "UPDATE subscriptions SET thread_id = NULL"
                    " WHERE id = $1 AND thread_id IS NOT NULL"
                    " RETURNING guild_id, story_id, channel_id, channel_name, forum, thread",
                    sub_id,
                )
                if tell and lost is not None and lost["guild_id"] is not None:
                    replaced = nonce("r", "replaced", sub_id, now_us)
                    await _queue_alert(db, lost, AlertKind.POST_REPLACED, replaced, now_us)
            case Announced(status=status):
                await db.execute(
                    "UPDATE subscriptions SET announced_status = $1 WHERE id = $2",
                    status.value,
                    sub_id,
                )


async def _pause(
    db: Connection,
    subscription_id: int,
    reason: PauseReason,
    detail: str | None,
    now_us: int,
) -> bool:
    """Pause a running subscription and queue the alert that says so: True when it was
    running (so it is said once)."""
    paused = await db.fetchrow(
        "UPDATE subscriptions SET paused_at = $1, pause_reason = $2, pause_detail = $3"
        " WHERE id = $4 AND paused_at IS NULL"
        " RETURNING id, guild_id, story_id, channel_id, thread, channel_name, forum",
        now_us,
        reason.value,
        clean_or_none(detail),
        subscription_id,
    )
    if paused is None or paused["guild_id"] is None:
        return paused is not None
    told = nonce("p", "pause", subscription_id, now_us)
    await _queue_alert(
        db, paused, AlertKind.SUBSCRIPTION_PAUSED, told, now_us, reason=reason, detail=detail
    )
    return True


async def _queue_alert(
    db: Connection,
    sub: Record,
    kind: AlertKind,
    alert_nonce: str,
    now_us: int,
    *,
    reason: PauseReason | None = None,
    detail: str | None = None,
) -> None:
    """An alert about a subscription (SUB: its guild, story, channel and kind) to its server's
    moderators."""
    story = await db.fetchval("SELECT name FROM stories WHERE id = $1", sub["story_id"])
    alert = AlertContent(
        kind=kind,
        story=story,
        channel_id=sub["channel_id"],
        thread=bool(sub["thread"]),
        pause_reason=reason,
        pause_detail=detail,
        channel_name=sub["channel_name"],
        forum=bool(sub["forum"]),
    )
    await db.execute(
        "INSERT INTO deliveries (guild_id, kind, payload, next_attempt, nonce, created_at)"
        " VALUES ($1, 'alert', $2, $3, $4, $3)",
        sub["guild_id"],
        alert_to_json(alert),
        now_us,
        alert_nonce,
    )


async def _write_history(
    db: Connection, rows: Sequence[Delivery], outcome: Outcome, now_us: int
) -> None:
    reason = getattr(outcome, "reason", None)
    detail = getattr(outcome, "detail", None) or getattr(outcome, "note", None)
    message_id = outcome.message_id if isinstance(outcome, Sent) else None
    channel_id = outcome.channel_id if isinstance(outcome, Sent) else None
    retry_at = to_us_or_none(outcome.at) if isinstance(outcome, Retry) else None
    await db.execute(
        "INSERT INTO delivery_attempts (delivery_id, subscription_id, story_id, guild_id,"
        " channel_id, kind, source_id, entry_id, title, at, outcome, reason, detail,"
        " message_id, next_attempt)"
        " SELECT u.delivery_id, u.subscription_id, u.story_id, u.guild_id,"
        " coalesce($1, u.channel_id), u.kind, u.source_id, u.entry_id, u.title, $2, $3, $4, $5,"
        " $6, $7 FROM unnest($8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[],"
        " $12::bigint[], $13::text[], $14::bigint[], $15::text[], $16::text[])"
        " WITH ORDINALITY AS u(delivery_id, subscription_id, story_id, guild_id, channel_id,"
        " kind, source_id, entry_id, title, n) ORDER BY u.n",
        channel_id,
        now_us,
        outcome.outcome.value,
        None if reason is None else str(reason),
        clean_or_none(detail),
        message_id,
        retry_at,
        [row.id for row in rows],
        [row.subscription_id for row in rows],
        [row.story_id for row in rows],
        [row.guild_id for row in rows],
        [row.channel_id for row in rows],
        [row.kind.value for row in rows],
        [row.source_id for row in rows],
        [clean_or_none(row.entry_id) for row in rows],
        [clean_or_none(_title(row)) for row in rows],
    )


def _title(row: Delivery) -> str | None:
    change = row.change
    entry = getattr(change, "entry", None)
    return None if entry is None else entry.title
