"""What happened to an update, in PostgreSQL (/why): the routing decisions a poll recorded, the
outbox rows about the update as they stand, and the digests that showed it.

An entry id is looked up as PostgreSQL keeps it (U+0000 made U+FFFD), and read back so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.store.codec import to_us
from bot.store.interface import HistoryStore
from bot.store.postgres.database import Database, clean
from bot.store.trail import DigestShown, OutboxRow, RoutingDecision

# An outbox row as it stands, with the note of its newest attempt (the index
# delivery_attempts_delivery finds it); then which rows.
_OUTBOX_ROW = (
    "SELECT d.id, d.subscription_id, d.kind, d.state, d.attempts, d.next_attempt, d.created_at,"
    " d.message_id, d.channel_id, d.sent_at, d.last_reason, d.last_error, d.backfill,"
    " d.period_end, (SELECT a.detail FROM delivery_attempts a WHERE a.delivery_id = d.id"
    "  ORDER BY a.id DESC LIMIT 1) AS note"
    " FROM deliveries d"
)
_ENTRY_ROWS = (
    f"{_OUTBOX_ROW} WHERE d.subscription_id = ANY($1::bigint[])"
    " AND d.source_id = $2 AND d.entry_id = $3 AND d.kind IN ('new', 'edited') ORDER BY d.id"
)
_DIGEST_ROW = (
    f"{_OUTBOX_ROW} WHERE d.subscription_id = $1 AND d.kind = 'digest'"
    " AND d.period_end >= $2 ORDER BY d.period_end LIMIT 1"
)


class History(Database, HistoryStore):
    async def routing_decisions(
        self, source_id: int, entry_id: str, *, subscription_ids: Sequence[int]
    ) -> list[RoutingDecision]:
        rows = await self._fetch(
            "SELECT subscription_id, source_id, entry_id, kind, reason, value, at"
            " FROM routing_decisions WHERE source_id = $1 AND entry_id = $2"
            " AND subscription_id = ANY($3::bigint[]) ORDER BY id",
            source_id,
            clean(entry_id),
            list(subscription_ids),
        )
        return [RoutingDecision.from_row(row) for row in rows]

    async def entry_outbox(
        self, source_id: int, entry_id: str, *, subscription_ids: Sequence[int]
    ) -> list[OutboxRow]:
        rows = await self._fetch(_ENTRY_ROWS, list(subscription_ids), source_id, clean(entry_id))
        return [OutboxRow.from_row(row) for row in rows]

    async def entry_digests(
        self, source_id: int, entry_id: str, *, subscription_ids: Sequence[int]
    ) -> list[DigestShown]:
        rows = await self._fetch(
            "SELECT subscription_id, channel_id, message_id, posted_at FROM posted_messages"
            " WHERE source_id = $1 AND entry_id = $2 AND digest"
            " AND subscription_id = ANY($3::bigint[]) ORDER BY id",
            source_id,
            clean(entry_id),
            list(subscription_ids),
        )
        return [DigestShown.from_row(row) for row in rows]

    async def digest_row(self, subscription_id: int, *, after: datetime) -> OutboxRow | None:
        row = await self._fetchrow(_DIGEST_ROW, subscription_id, to_us(after))
        return None if row is None else OutboxRow.from_row(row)
