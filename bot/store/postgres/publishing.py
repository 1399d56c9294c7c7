"""Publishing in announcement channels, in PostgreSQL: the option, the hourly budget and the
record (see `bot.store.publishing`). Several processes may publish in one channel: taking a
publish holds a transaction-scoped advisory lock on the channel, so two never count the same
hour's last publish."""

from __future__ import annotations

from datetime import datetime

from bot.model import AlertContent, AlertKind, PublishOutcome
from bot.store.codec import alert_to_json, to_us, to_us_or_none
from bot.store.postgres.database import Connection, Database, clean_or_none
from bot.store.publishing import (
    HOUR,
    PublicationRecord,
    PublishBudget,
    PublishingStore,
    PublishRequest,
    PublishTicket,
)
from bot.store.rules import nonce

_COUNTED = "('sending', 'published', 'failed')"  # publishes Discord saw (or may have)
_LEFT = "('no_budget', 'waiting')"


class Publishing(Database, PublishingStore):
    async def set_publish(self, subscription_id: int, publish: bool) -> None:
        async def work(db: Connection) -> None:
            await db.execute(
                "UPDATE subscriptions SET publish = $1 WHERE id = $2", publish, subscription_id
            )

        await self._write(work)

    async def take_publish(
        self, request: PublishRequest, *, now: datetime, budget: PublishBudget
    ) -> PublishTicket:
        now_us = to_us(now)
        since = to_us(now - HOUR)

        async def work(db: Connection) -> PublishTicket:
            await db.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('bulletin.publish:' || $1, 0))",
                str(request.channel_id),
            )
            row = await db.fetchrow(
                f"SELECT count(*) FILTER (WHERE outcome IN {_COUNTED}) AS used,"  # noqa: S608
                f" count(*) FILTER (WHERE outcome IN {_LEFT}) AS left_out,"
                " coalesce(max(wait_until), 0) AS wait_until"
                " FROM publications WHERE channel_id = $1 AND (at > $2 OR wait_until > $3)",
                request.channel_id,
                since,
                now_us,
            )
            assert row is not None
            if row["wait_until"] > now_us:
                outcome = PublishOutcome.WAITING
            elif budget.allows(row["used"], key=request.key):
                outcome = PublishOutcome.SENDING
            else:
                outcome = PublishOutcome.NO_BUDGET
            publication_id = await db.fetchval(
                "INSERT INTO publications (channel_id, guild_id, subscription_id, delivery_id,"
                " message_id, key, outcome, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " RETURNING id",
                request.channel_id,
                request.guild_id,
                request.subscription_id,
                request.delivery_id,
                request.message_id,
                request.key,
                outcome.value,
                now_us,
            )
            alerted = False
            if outcome is not PublishOutcome.SENDING and not row["left_out"] and request.guild_id:
                alert = AlertContent(
                    kind=AlertKind.UNPUBLISHED,
                    story=clean_or_none(request.story),
                    channel_id=request.channel_id,
                )
                await db.execute(
                    "INSERT INTO deliveries (guild_id, kind, payload, next_attempt, nonce,"
                    " created_at) VALUES ($1, 'alert', $2, $3, $4, $3)",
                    request.guild_id,
                    alert_to_json(alert),
                    now_us,
                    nonce("u", "unpublished", request.channel_id, now_us),
                )
                alerted = True
            return PublishTicket(int(publication_id), outcome, alerted)

        return await self._write(work)

    async def publish_done(
        self,
        publication_id: int,
        *,
        outcome: PublishOutcome,
        detail: str | None = None,
        wait_until: datetime | None = None,
    ) -> None:
        async def work(db: Connection) -> None:
            await db.execute(
                "UPDATE publications SET outcome = $1, detail = $2, wait_until = $3 WHERE id = $4",
                outcome.value,
                clean_or_none(detail),
                to_us_or_none(wait_until),
                publication_id,
            )

        await self._write(work)

    async def publications(
        self, *, channel_id: int | None = None, delivery_id: int | None = None
    ) -> list[PublicationRecord]:
        rows = await self._fetch(
            "SELECT * FROM publications WHERE ($1::bigint IS NULL OR channel_id = $1)"
            " AND ($2::bigint IS NULL OR delivery_id = $2) ORDER BY id",
            channel_id,
            delivery_id,
        )
        return [PublicationRecord.from_row(row) for row in rows]
