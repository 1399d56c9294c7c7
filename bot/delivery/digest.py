"""Digest subscriptions: one message per period, on an APScheduler cron aligned to the hour.

A digest holds the period's updates (time, title, link; "and K more") and the story's current
key points; nothing is posted when nothing happened. The period starts at the subscription's
`last_digest_at` (its creation for the first), which moves only once the digest is out, so a
failed send is folded into the next period; the nonce comes from the period's start, so a
digest sent again after a crash is not posted twice.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

import discord
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.delivery.discord_sink import DiscordSink, Paused, classify, thread_lost
from bot.delivery.render import Payload, RenderContext, render_digest
from bot.delivery.routing import matches_keywords
from bot.model import KeyPoints
from bot.store import SubscriptionRecord
from bot.store.codec import to_us

log = logging.getLogger(__name__)

DEFAULT_EVERY = 3600  # seconds
JOB_PREFIX = "digest:"


def digest_nonce(subscription_id: int, period_end: datetime) -> str:
    """The nonce of a subscription's digest for the period ending at `period_end`."""
    raw = f"digest:{subscription_id}:{to_us(period_end)}".encode()
    return "d" + hashlib.sha256(raw).hexdigest()[:24]


def digest_trigger(every: int | None) -> CronTrigger:
    """A cron trigger for a period of `every` seconds, aligned to the hour: under an hour on
    whole minutes of the hour (e.g. :00, :15, :30, :45), hours on the hour, days at midnight UTC."""
    minutes = max((every or DEFAULT_EVERY) // 60, 1)
    if minutes < 60:
        return CronTrigger(minute=f"*/{minutes}", timezone=UTC)
    hours = minutes // 60
    if hours < 24:
        return CronTrigger(hour=f"*/{hours}", minute=0, timezone=UTC)
    return CronTrigger(day=f"*/{hours // 24}", hour=0, minute=0, timezone=UTC)


class Digests:
    """Keeps one scheduler job per running digest subscription and posts the digests."""

    def __init__(self, sink: DiscordSink, scheduler: BaseScheduler) -> None:
        self.sink = sink
        self.store = sink.store
        self.scheduler = scheduler
        self._periods: dict[int, int | None] = {}

    async def refresh(self) -> int:
        """Match the jobs to the digest subscriptions (new, changed `every`, gone); the number
        of jobs. Call at start and after /subscribe (or every minute)."""
        wanted = {sub.id: sub.every for sub in await self.store.digest_subscriptions()}
        for sub_id in list(self._periods):
            if sub_id not in wanted:
                self.scheduler.remove_job(f"{JOB_PREFIX}{sub_id}")
                del self._periods[sub_id]
        for sub_id, every in wanted.items():
            if sub_id in self._periods and self._periods[sub_id] == every:
                continue
            self.scheduler.add_job(
                self.run_digest,
                digest_trigger(every),
                args=(sub_id,),
                id=f"{JOB_PREFIX}{sub_id}",
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=300,
            )
            self._periods[sub_id] = every
        return len(self._periods)

    async def run_digest(self, subscription_id: int) -> int | None:
        """Post the subscription's digest for the period up to now; the message id, or None
        when there was nothing to say (or it could not go now)."""
        sub = await self.store.get_subscription(subscription_id)
        if sub is None or sub.paused_at is not None or sub.mode != "digest":
            return None
        assert sub.channel_id is not None
        now = self.sink.clock()
        since = sub.last_digest_at or sub.created_at
        story = await self.store.get_story(sub.story_id)
        entries = [
            record
            for record in await self.store.entries_since(sub.story_id, since)
            if matches_keywords(sub.keywords, record.entry)
        ]
        changed = await self.store.key_points_changed_since(sub.story_id, since)
        current = await self.store.current_key_points(sub.story_id)
        key_points = KeyPoints(current[0].kind, current[0].items) if current else None
        ctx = RenderContext(story_name=story.name, story_key=story.id, role_id=sub.mention_role_id)
        ping = sub.mention_role_id is not None and (changed or bool(sub.keywords and entries))
        payload = render_digest(
            [record.entry for record in entries],
            key_points,
            ctx,
            key_points_changed=changed,
            ping=ping,
        )
        if payload is None:
            await self.store.record_digest(
                sub.id, now=now, message_id=None, channel_id=None, entries=()
            )
            return None
        try:
            destination, message = await self._post(sub, payload, ctx, since)
            if changed:
                sub = await self.store.get_subscription(sub.id) or sub
                await self.sink.refresh_starter(sub, ctx)
        except Exception as error:
            outcome = classify(error)
            if isinstance(outcome, Paused):
                await self.sink.pause(sub, str(outcome))
            else:
                log.warning("digest of subscription %s not sent: %s", sub.id, outcome)
            return None
        await self.store.record_digest(
            sub.id,
            now=now,
            message_id=message.id,
            channel_id=destination,
            entries=[(record.source_id, record.entry.id) for record in entries],
        )
        log.info("digest of subscription %s: %d updates", sub.id, len(entries))
        return message.id

    async def _post(
        self, sub: SubscriptionRecord, payload: Payload, ctx: RenderContext, since: datetime
    ) -> tuple[int, discord.Message]:
        """Post a digest in the channel, or in the story's thread there (a new one when the
        old was deleted or locked): (where, the message)."""
        nonce = digest_nonce(sub.id, since)
        try:
            destination = await self.sink.destination(sub, ctx)
            return destination, await self.sink.post(destination, payload, nonce=nonce)
        except discord.HTTPException as error:
            if sub.thread_id is None or not thread_lost(error):
                raise
        sub = await self.sink.forget_thread(sub)
        destination = await self.sink.destination(sub, ctx)
        return destination, await self.sink.post(destination, payload, nonce=nonce)
