"""Publishing in announcement channels, in SQLite: the option, the hourly budget and the record
(see `bot.store.publishing`). One process writes an SQLite file, and its transactions run one
at a time (BEGIN IMMEDIATE), so counting and taking a publish cannot interleave."""

from __future__ import annotations

from datetime import datetime

from bot.model import AlertContent, AlertKind, PublishOutcome
from bot.store.codec import alert_to_json, to_us, to_us_or_none
from bot.store.publishing import (
    HOUR,
    PublicationRecord,
    PublishBudget,
    PublishingStore,
    PublishRequest,
    PublishTicket,
)
from bot.store.rules import nonce
from bot.store.sqlite.database import Database

_COUNTED = "('sending', 'published', 'failed')"  # publishes Discord saw (or may have)
_LEFT = "('no_budget', 'waiting')"


class Publishing(Database, PublishingStore):
    async def set_publish(self, subscription_id: int, publish: bool) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE subscriptions SET publish = ? WHERE id = ?", (publish, subscription_id)
            )

    async def take_publish(
        self, request: PublishRequest, *, now: datetime, budget: PublishBudget
    ) -> PublishTicket:
        now_us = to_us(now)
        since = to_us(now - HOUR)
        async with self._transaction() as db:
            row = await self._fetchone(
                f"SELECT count(*) FILTER (WHERE outcome IN {_COUNTED}),"  # noqa: S608 - constants
                f" count(*) FILTER (WHERE outcome IN {_LEFT}),"
                " ifnull(max(wait_until), 0)"
                " FROM publications WHERE channel_id = ? AND (at > ? OR wait_until > ?)",
                (request.channel_id, since, now_us),
            )
            used, left, wait_until = (row[0], row[1], row[2]) if row else (0, 0, 0)
            if wait_until > now_us:
                outcome = PublishOutcome.WAITING
            elif budget.allows(used, key=request.key):
                outcome = PublishOutcome.SENDING
            else:
                outcome = PublishOutcome.NO_BUDGET
            inserted = await self._fetchone(
                "INSERT INTO publications (channel_id, guild_id, subscription_id, delivery_id,"
                " message_id, key, outcome, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    request.channel_id,
                    request.guild_id,
                    request.subscription_id,
                    request.delivery_id,
                    request.message_id,
                    request.key,
                    outcome.value,
                    now_us,
                ),
            )
            assert inserted is not None
            alerted = False
            if outcome is not PublishOutcome.SENDING and not left and request.guild_id:
                alert = AlertContent(
                    kind=AlertKind.UNPUBLISHED, story=request.story, channel_id=request.channel_id
                )
                await db.execute(
                    "INSERT INTO deliveries (guild_id, kind, payload, next_attempt, nonce,"
                    " created_at) VALUES (?, 'alert', ?, ?, ?, ?)",
                    (
                        request.guild_id,
                        alert_to_json(alert),
                        now_us,
                        nonce("u", "unpublished", request.channel_id, now_us),
                        now_us,
                    ),
                )
                alerted = True
            return PublishTicket(int(inserted[0]), outcome, alerted)

    async def publish_done(
        self,
        publication_id: int,
        *,
        outcome: PublishOutcome,
        detail: str | None = None,
        wait_until: datetime | None = None,
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE publications SET outcome = ?, detail = ?, wait_until = ? WHERE id = ?",
                (outcome.value, detail, to_us_or_none(wait_until), publication_id),
            )

    async def publications(
        self, *, channel_id: int | None = None, delivery_id: int | None = None
    ) -> list[PublicationRecord]:
        rows = await self._query_all(
            "SELECT * FROM publications WHERE (? IS NULL OR channel_id = ?)"
            " AND (? IS NULL OR delivery_id = ?) ORDER BY id",
            (channel_id, channel_id, delivery_id, delivery_id),
        )
        return [PublicationRecord.from_row(row) for row in rows]
