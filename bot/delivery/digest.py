"""Digest subscriptions: one message per period, on the hour.

Periods are aligned to the hour (UTC): a period under an hour ends on whole minutes of the hour
(:00, :15, :30, :45), hours on the hour, days at midnight. When a period closes, `Digests`
writes it as one outbox row (its updates that pass the subscription's filters, the story's key
points then, and whether they changed) and moves the subscription's next period on, in one
transaction and once per period, however many processes tick; nothing is written when nothing
happened. The dispatcher posts the row like any other, so a restart loses no digest and a
crash between posting and recording posts none twice beyond what the nonce covers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.delivery.routing import passes
from bot.model import DEFAULT_DIGEST_PERIOD, DigestContent, Entry, KeyPoints
from bot.store import Store, SubscriptionRecord

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0  # how often closed periods are looked for
DIGEST_TEXT = 300  # characters of an update's text a digest keeps (it shows titles)
_MICROSECOND = timedelta(microseconds=1)


def digest_trigger(every: int) -> CronTrigger:
    """A cron trigger for a period of `every` seconds, aligned to the hour: under an hour on
    whole minutes of the hour (e.g. :00, :15, :30, :45), hours on the hour, days at midnight UTC."""
    minutes = max(every // 60, 1)
    if minutes < 60:
        return CronTrigger(minute=f"*/{minutes}", timezone=UTC)
    hours = minutes // 60
    if hours < 24:
        return CronTrigger(hour=f"*/{hours}", minute=0, timezone=UTC)
    return CronTrigger(day=f"*/{hours // 24}", hour=0, minute=0, timezone=UTC)


def period_end(every: int, since: datetime, now: datetime) -> datetime | None:
    """The end of the period that began at SINCE, if it has ended by NOW: the latest boundary
    after SINCE and not after NOW (a bot away for several periods closes them as one)."""
    trigger = digest_trigger(every)
    end: datetime | None = trigger.get_next_fire_time(None, since + _MICROSECOND)
    if end is None or end > now:
        return None
    while True:
        following: datetime | None = trigger.get_next_fire_time(end, end + _MICROSECOND)
        if following is None or following > now:
            return end
        end = following


class Digests:
    """Closes digest periods into outbox rows; `close_due` runs on a local tick."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] | None = None,
        wakeup: asyncio.Event | None = None,
    ) -> None:
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self._wakeup = wakeup

    async def close_due(self) -> int:
        """Close every period that has ended; the number of digests written."""
        now = self._clock()
        written = 0
        for sub in await self.store.digest_subscriptions():
            since = sub.last_digest_at or sub.created_at
            until = period_end(sub.every or DEFAULT_DIGEST_PERIOD, since, now)
            if until is None:
                continue
            content = await self._content(sub, since, until)
            closed = await self.store.close_digest(
                sub.id, since=since, until=until, content=content, now=now
            )
            if closed and content is not None:
                written += 1
                log.info("digest of subscription %s: %d updates", sub.id, len(content.entries))
        if written and self._wakeup is not None:
            self._wakeup.set()
        return written

    async def _content(
        self, sub: SubscriptionRecord, since: datetime, until: datetime
    ) -> DigestContent | None:
        """What the period's digest says; None when nothing happened in it."""
        records = await self.store.entries_since(sub.story_id, since, until)
        entries = tuple(
            (record.source_id, _trimmed(record.entry))
            for record in records
            if passes(sub.filters, record.entry)
        )
        changed = await self.store.key_points_changed_since(sub.story_id, since, until)
        if not entries and not changed:
            return None
        current = await self.store.current_key_points(sub.story_id)
        key_points = KeyPoints(current[0].kind, current[0].items) if current else None
        return DigestContent(
            since=since,
            until=until,
            entries=entries,
            key_points=key_points,
            key_points_changed=changed,
        )


def _trimmed(entry: Entry) -> Entry:
    """A digest shows titles, times and links: a long text is cut (it only stands in for a
    missing title)."""
    if len(entry.text) <= DIGEST_TEXT:
        return entry
    return replace(entry, text=entry.text[:DIGEST_TEXT])
