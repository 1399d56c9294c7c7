"""What happened to an update, in SQLite (/why): the routing decisions a poll recorded, the
outbox rows about the update as they stand, and the digests that showed it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.store.codec import to_us
from bot.store.interface import HistoryStore
from bot.store.sqlite.database import Database
from bot.store.trail import DigestShown, OutboxRow, RoutingDecision

# An outbox row as it stands, with the note of its newest attempt; then which rows.
_OUTBOX_ROW = (
    "SELECT d.id, d.subscription_id, d.kind, d.state, d.attempts, d.next_attempt, d.created_at,"
    " d.message_id, d.channel_id, d.sent_at, d.last_reason, d.last_error, d.backfill,"
    " d.period_end, (SELECT a.detail FROM delivery_attempts a WHERE a.delivery_id = d.id"
    "  ORDER BY a.id DESC LIMIT 1) AS note"
    " FROM deliveries d"
)
_ENTRY_ROWS = (
    f"{_OUTBOX_ROW} WHERE d.subscription_id IN (SELECT value FROM json_each(?))"  # noqa: S608
    " AND d.source_id = ? AND d.entry_id = ? AND d.kind IN ('new', 'edited') ORDER BY d.id"
)
_DIGEST_ROW = (
    f"{_OUTBOX_ROW} WHERE d.subscription_id = ? AND d.kind = 'digest'"
    " AND d.period_end >= ? ORDER BY d.period_end LIMIT 1"
)


class History(Database, HistoryStore):
    async def routing_decisions(
        self, source_id: int, entry_id: str, *, subscription_ids: Sequence[int]
    ) -> list[RoutingDecision]:
        rows = await self._query_all(
            "SELECT subscription_id, source_id, entry_id, kind, reason, value, at"
            " FROM routing_decisions WHERE source_id = ? AND entry_id = ?"
            " AND subscription_id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (source_id, entry_id, json.dumps(list(subscription_ids))),
        )
        return [RoutingDecision.from_row(row) for row in rows]

    async def entry_outbox(
        self, source_id: int, entry_id: str, *, subscription_ids: Sequence[int]
    ) -> list[OutboxRow]:
        rows = await self._query_all(
            _ENTRY_ROWS,
            (json.dumps(list(subscription_ids)), source_id, entry_id),
        )
        return [OutboxRow.from_row(row) for row in rows]

    async def entry_digests(
        self, source_id: int, entry_id: str, *, subscription_ids: Sequence[int]
    ) -> list[DigestShown]:
        rows = await self._query_all(
            "SELECT subscription_id, channel_id, message_id, posted_at FROM posted_messages"
            " WHERE source_id = ? AND entry_id = ? AND digest"
            " AND subscription_id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (source_id, entry_id, json.dumps(list(subscription_ids))),
        )
        return [DigestShown.from_row(row) for row in rows]

    async def digest_row(self, subscription_id: int, *, after: datetime) -> OutboxRow | None:
        row = await self._query_one(
            _DIGEST_ROW,
            (subscription_id, to_us(after)),
        )
        return None if row is None else OutboxRow.from_row(row)
