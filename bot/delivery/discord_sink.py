"""The outbox to Discord: pending deliveries → messages, edits, threads; each once, in order.

`DiscordSink.deliver(rows)` takes pending outbox rows (`Store.pending_deliveries`) and, per
subscription, in id order:

- new updates of one poll are batched (≤10 embeds, ≤6,000 characters a message; more than 30
  become the newest 30 and "and K more — /latest"). The rows of each message are claimed for it
  first (`Store.claim_batch`) under the first row's nonce, so after a crash the same message is
  sent again with the same nonce and Discord returns the first one instead of posting twice;
- an edit edits the posted message in place (at most once a minute, marked "Updated"); over a
  day old, or shown in a digest, a short correction is posted instead;
- key-point changes ping the subscription's role; in thread mode the thread's starter message
  (the key points) is edited in place and the change goes into the thread;
- "Coverage ended" is said once per subscription.

Every request passes our global `RateLimiter` and the `ChannelPacer`; sends use
`client.get_partial_messageable`, so nothing depends on the gateway's cache. 5xx, timeouts and
429 are retried with exponential backoff and jitter (`retry_after` honoured); 403 and 404 pause
the subscription, which is said once in the server's alerts channel (or system channel); rows
that can never go (a payload Discord refuses) are kept as undeliverable.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import discord

from bot.delivery.dispatcher import retry_delay
from bot.delivery.limiter import ChannelPacer, RateLimiter
from bot.delivery.render import (
    MAX_UPDATES_PER_POLL,
    Payload,
    RenderContext,
    batch_updates,
    key_points_embed,
    render_correction,
    render_key_points_change,
    render_message_edit,
    render_status_change,
    to_send_kwargs,
    update_embed,
)
from bot.delivery.sinks import CHANNEL_GONE, NO_PERMISSION, SendFailed, alert_text
from bot.model import (
    EditedEntry,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    StatusChanged,
    StoryStatus,
)
from bot.store import Alert, Delivery, MessageEntry, Store, StoreError, SubscriptionRecord

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

EDIT_EVERY = timedelta(minutes=1)  # at most one edit a minute per message
EDIT_REACH = timedelta(days=1)  # older messages get a correction instead
# Discord drops a message whose nonce it saw from us within "the past few minutes" (undocumented
# length): a resend later than this after its first try may post twice.
NONCE_WINDOW = timedelta(minutes=2)
THREAD_ARCHIVE_MINUTES = 10080


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:24]


class Paused(Exception):
    """Discord refused the channel (403/404): the subscription stops."""


class Retry(Exception):
    """Worth trying again later."""

    def __init__(self, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.retry_after = retry_after


class Refused(Exception):
    """Discord will never accept this (400)."""


UNKNOWN_CHANNEL = 10003
THREAD_ARCHIVED = 50083  # a thread locked by a moderator: the bot cannot post there again


def thread_lost(error: BaseException) -> bool:
    """Did Discord refuse a thread because it was deleted or locked (not the channel)?"""
    if isinstance(error, discord.NotFound):
        return error.code == UNKNOWN_CHANNEL
    return isinstance(error, discord.HTTPException) and error.code == THREAD_ARCHIVED


def classify(error: BaseException) -> Exception:
    """Paused, Retry or Refused for an error of a request to Discord."""
    if isinstance(error, discord.RateLimited):
        return Retry(f"rate limited for {error.retry_after:.1f} s", error.retry_after)
    if isinstance(error, discord.Forbidden):
        said = error.text or "Missing Permissions"
        return Paused(f"{NO_PERMISSION} (Discord said 403 {error.code}: {said})")
    if isinstance(error, discord.NotFound):
        said = error.text or "Not Found"
        if error.code == UNKNOWN_CHANNEL:
            return Paused(f"{CHANNEL_GONE} (Discord said 404 {error.code}: {said})")
        return Paused(f"Discord cannot find it (404 {error.code}: {said})")
    if isinstance(error, discord.HTTPException):
        if error.status == 429 or error.status >= 500:
            return Retry(f"Discord answered {error.status}")
        return Refused(f"Discord refused the message ({error.status} {error.code}: {error.text})")
    if isinstance(error, aiohttp.ClientError | TimeoutError | OSError):
        return Retry(f"{type(error).__name__}: {error}")
    raise error


class DiscordSink:
    """Sends outbox rows to Discord through a logged-in `discord.Client` (the gateway is not
    needed). One instance per process; `deliver` may run concurrently for other rows."""

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        *,
        limiter: RateLimiter,
        pacer: ChannelPacer | None = None,
        rng: random.Random | None = None,
        clock: Clock = _now,
        concurrency: int = 64,
    ) -> None:
        self.client = client
        self.store = store
        self.limiter = limiter
        self.pacer = pacer or ChannelPacer()
        self.rng = rng or random.Random()
        self.clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self.sent = 0  # messages posted (not edits), for the benchmark and logs

    # --- requests --------------------------------------------------------------------------

    async def post(self, channel_id: int, payload: Payload, *, nonce: str) -> discord.Message:
        """Post one payload with a deterministic nonce (discord.py adds `enforce_nonce`)."""
        await self.pacer.wait(channel_id)
        await self.limiter.acquire()
        channel = self.client.get_partial_messageable(channel_id)
        message = await channel.send(**to_send_kwargs(payload), nonce=nonce)
        self.sent += 1
        return message

    async def _post_row(self, channel_id: int, payload: Payload, row: Delivery) -> discord.Message:
        """Post one outbox row's message, claimed first (see `_note_resend`)."""
        if row.batch is None:
            await self.store.claim_batch([row.id], row.nonce, now=self.clock())
        return await self.post(channel_id, payload, nonce=row.nonce)

    def _note_resend(self, sub: SubscriptionRecord, unit: Sequence[Delivery]) -> None:
        """A claimed row that never failed was in flight when the process stopped: it goes
        again under its nonce. Past Discord's nonce window that no longer prevents a second
        copy, if the first did go out: say so."""
        first = unit[0]
        if first.batch is None or first.attempts or first.next_attempt is None:
            return
        age = self.clock() - first.next_attempt
        if age > NONCE_WINDOW:
            log.warning(
                "guild %s: subscription %s: resending a message claimed %d minutes ago, past "
                "Discord's nonce window; if it went out before the restart, it appears twice",
                sub.guild_id,
                sub.id,
                age.total_seconds() // 60,
            )
        else:
            log.info("subscription %s: resending a message in flight under its nonce", sub.id)

    async def edit(self, channel_id: int, message_id: int, payload: Payload) -> None:
        await self.limiter.acquire()
        channel = self.client.get_partial_messageable(channel_id)
        await channel.get_partial_message(message_id).edit(**to_send_kwargs(payload))

    # --- the outbox --------------------------------------------------------------------------

    async def deliver(self, rows: Sequence[Delivery]) -> int:
        """Deliver pending rows (of any subscriptions, in id order); the number handled."""
        groups: dict[int, list[Delivery]] = {}
        for row in rows:
            if row.target == "discord" and row.channel_id is not None:
                groups.setdefault(row.subscription_id, []).append(row)

        async def one(group: list[Delivery]) -> None:
            async with self._slots:
                await self._deliver_subscription(group)

        await asyncio.gather(*(one(group) for group in groups.values()))
        return sum(len(group) for group in groups.values())

    async def send(self, delivery: Delivery) -> int | None:
        """One row (the dispatcher's per-row interface); `deliver` is the batched one."""
        await self.deliver([delivery])
        return None

    async def drain(self, *, limit: int = 1000) -> int:
        """Deliver what is due now; the number of rows handled."""
        rows = await self.store.pending_deliveries(self.clock(), limit=limit, targets=("discord",))
        return await self.deliver(rows)

    async def run(
        self, stop: asyncio.Event, wakeup: asyncio.Event | None = None, *, idle: float = 2.0
    ) -> None:
        """Drain the outbox until `stop` is set, waking on `wakeup` or every `idle` seconds."""
        wakeup = wakeup or asyncio.Event()
        while not stop.is_set():
            wakeup.clear()
            try:
                handled = await self.drain()
            except Exception:
                log.exception("delivery round failed; trying again shortly")
                handled = 0
            if handled:
                continue
            waiters = {asyncio.create_task(stop.wait()), asyncio.create_task(wakeup.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def _deliver_subscription(self, rows: list[Delivery]) -> None:
        sub = await self.store.get_subscription(rows[0].subscription_id)
        if sub is None or sub.paused_at is not None:
            return
        index = 0
        new_thread = False  # one new thread per unit at most
        while index < len(rows):
            unit = self._next_unit(rows, index)
            if not new_thread:
                self._note_resend(sub, unit)
            try:
                await self._deliver_unit(sub, unit, rows[index + len(unit) :])
            except Exception as error:
                if not new_thread and sub.thread_id is not None and thread_lost(error):
                    sub = await self.forget_thread(sub)  # the unit goes again, to a new thread
                    new_thread = True
                    continue
                outcome = classify(error)
                if isinstance(outcome, Paused):
                    await self.store.unclaim([row.id for row in unit])  # none went out
                    await self.pause(sub, str(outcome))
                    return
                if isinstance(outcome, Refused):
                    log.warning("subscription %s: %s; kept as undeliverable", sub.id, outcome)
                    for row in unit:
                        await self.store.mark_undeliverable(row.id, error=str(outcome))
                else:
                    assert isinstance(outcome, Retry)
                    delay = retry_delay(unit[0].attempts + 1, self.rng, outcome.retry_after)
                    log.info("subscription %s: %s; retrying in %.1f s", sub.id, outcome, delay)
                    when = self.clock() + timedelta(seconds=delay)
                    for row in unit:
                        await self.store.mark_retry(row.id, error=str(outcome), next_attempt=when)
                    return  # later rows wait: order is kept
            sub = await self.store.get_subscription(sub.id) or sub
            index += len(unit)
            new_thread = False

    @staticmethod
    def _next_unit(rows: list[Delivery], start: int) -> list[Delivery]:
        """The rows that go out together from `start`: a claimed batch, a run of new updates
        from one poll, or a single row."""
        first = rows[start]
        unit = [first]
        for row in rows[start + 1 :]:
            if first.batch is not None:
                if row.batch != first.batch:
                    break
            elif not (
                first.kind == "new"
                and row.kind == "new"
                and row.batch is None
                and row.created_at == first.created_at
            ):
                break
            unit.append(row)
        return unit

    def _context(self, row: Delivery, sub: SubscriptionRecord) -> RenderContext:
        host = urlsplit(row.source_url).hostname if row.source_url else None
        return RenderContext(
            story_name=row.story_name,
            story_key=row.story_id,
            source_name=host,
            source_url=row.source_url,
            role_id=sub.mention_role_id,
        )

    async def _deliver_unit(
        self, sub: SubscriptionRecord, unit: list[Delivery], later: list[Delivery]
    ) -> None:
        first = unit[0]
        if first.kind == "new":
            await self._deliver_updates(sub, unit)
        elif isinstance(first.change, EditedEntry):
            await self._deliver_edit(sub, first, later)
        elif isinstance(first.change, KeyPointsChanged):
            await self._deliver_key_points(sub, first, first.change)
        elif isinstance(first.change, StatusChanged):
            await self._deliver_status(sub, first, first.change)
        else:  # pragma: no cover - the store writes no other kinds
            await self.store.mark_undeliverable(first.id, error=f"unknown kind {first.kind}")

    # --- new updates -------------------------------------------------------------------------

    def _updates_message(
        self, sub: SubscriptionRecord, rows: Sequence[Delivery], more: int
    ) -> Payload:
        embeds = [
            update_embed(row.change.entry, self._context(row, sub))
            for row in rows
            if isinstance(row.change, NewEntry)
        ]
        # the subscription's keywords matched: a mention role is pinged for these, but not for
        # a backfill (earlier updates a moderator asked to see when subscribing)
        backfill = any(row.backfill for row in rows)
        ping = sub.mention_role_id if sub.keywords and not backfill else None
        content = f"and {more} more — /latest" if more else ""
        if ping is not None:
            content = f"<@&{ping}> {content}".rstrip()
        return {
            "content": content,
            "embeds": embeds,
            "allowed_mentions": {"parse": [], "roles": [str(ping)]}
            if ping is not None
            else {"parse": []},
        }

    async def _deliver_updates(self, sub: SubscriptionRecord, unit: list[Delivery]) -> None:
        destination = await self.destination(sub, self._context(unit[0], sub))
        if unit[0].batch is not None:  # claimed before a crash: the same message again
            await self._send_batch(sub, destination, unit, unit[0].batch, unit[0].batch_more)
            return
        skipped = max(len(unit) - MAX_UPDATES_PER_POLL, 0)
        if skipped:
            await self.store.mark_batch_sent(
                [row.id for row in unit[:skipped]], None, now=self.clock(), channel_id=None
            )
        kept = unit[skipped:]
        groups = batch_updates(
            [update_embed(row.change.entry, self._context(row, sub)) for row in kept],  # type: ignore[union-attr]
            keep=len(kept),
        )
        plan: list[tuple[list[Delivery], int]] = []
        start = 0
        for number, payload in enumerate(groups):
            count = len(payload["embeds"])
            more = skipped if number == len(groups) - 1 else 0
            plan.append((kept[start : start + count], more))
            start += count
        for rows, more in plan:
            await self.store.claim_batch(
                [row.id for row in rows], rows[0].nonce, more=more, now=self.clock()
            )
        for rows, more in plan:
            await self._send_batch(sub, destination, rows, rows[0].nonce, more)

    async def _send_batch(
        self,
        sub: SubscriptionRecord,
        destination: int,
        rows: Sequence[Delivery],
        nonce: str,
        more: int,
    ) -> None:
        message = await self.post(destination, self._updates_message(sub, rows, more), nonce=nonce)
        await self.store.mark_batch_sent(
            [row.id for row in rows], message.id, now=self.clock(), channel_id=destination
        )

    # --- edits -------------------------------------------------------------------------------

    async def _deliver_edit(
        self, sub: SubscriptionRecord, row: Delivery, later: list[Delivery]
    ) -> None:
        change = row.change
        assert isinstance(change, EditedEntry) and row.source_id is not None
        now = self.clock()
        if any(
            other.kind == "edited"
            and other.entry_id == row.entry_id
            and other.source_id == row.source_id
            for other in later
        ):
            # a newer edit of the same update follows: it carries the newest words
            await self.store.mark_batch_sent([row.id], None, now=now, channel_id=None, record=[])
            return
        posted = await self.store.posted_message_record(sub.id, row.source_id, change.entry.id)
        if posted is None:
            log.info(
                "subscription %s: edit of %s never shown here; nothing to do",
                sub.id,
                change.entry.id,
            )
            await self.store.mark_batch_sent([row.id], None, now=now, channel_id=None, record=[])
            return
        ctx = self._context(row, sub)
        channel_id = posted.channel_id or await self.destination(sub, self._context(row, sub))
        if not posted.digest and now - posted.posted_at <= EDIT_REACH:
            shown = await self.store.message_entries(posted)
            edits = [e.edited_at for e in shown if e.edited_at is not None]
            if edits and now - max(edits) < EDIT_EVERY:  # at most one edit a minute a message
                await self.store.defer_delivery(row.id, until=max(edits) + EDIT_EVERY)
                return
            payload = await self._rebuilt_message(sub, row, change, shown)
            try:
                await self.edit(channel_id, posted.message_id, payload)
            except discord.NotFound:
                log.info(
                    "subscription %s: message %s is gone; posting a correction",
                    sub.id,
                    posted.message_id,
                )
            else:
                await self.store.mark_message_edited(posted.id, now=now)
                await self.store.mark_batch_sent(
                    [row.id], posted.message_id, now=now, channel_id=channel_id, record=[]
                )
                return
        guild = sub.guild_id or "@me"
        link = f"https://discord.com/channels/{guild}/{channel_id}/{posted.message_id}"
        payload = render_correction(change, ctx, original_message_url=link)
        destination = await self.destination(sub, self._context(row, sub))
        message = await self._post_row(destination, payload, row)
        await self.store.mark_batch_sent(
            [row.id], message.id, now=now, channel_id=destination, record=[]
        )

    async def _rebuilt_message(
        self,
        sub: SubscriptionRecord,
        row: Delivery,
        change: EditedEntry,
        shown: Sequence[MessageEntry],
    ) -> Payload:
        """The embeds of a posted message of updates with this edit applied: the edited update
        marked "Updated", the others as they were posted (or as last edited in place), so that
        an edit never takes the other updates of a batch away."""
        ctx = self._context(row, sub)
        contexts = {row.source_id: ctx}
        embeds = []
        for item in shown:
            entry, edited = item.shown, item.edited_at is not None
            if item.source_id == row.source_id and item.entry_id == change.entry.id:
                entry, edited = change.entry, True
            elif edited or entry is None:
                stored = await self.store.get_entry(item.source_id, item.entry_id)
                entry = stored.entry if stored is not None else entry
            if entry is None:  # pragma: no cover - a posted update is kept while editable
                continue
            if item.source_id not in contexts:  # a story with several sources
                contexts[item.source_id] = ctx
                with contextlib.suppress(StoreError):  # a source removed since: keep ours
                    url = (await self.store.get_source(item.source_id)).url
                    contexts[item.source_id] = replace(
                        ctx, source_name=urlsplit(url).hostname, source_url=url
                    )
            embeds.append(update_embed(entry, contexts[item.source_id], edited=edited))
        if not embeds:
            embeds = [update_embed(change.entry, ctx, edited=True)]
        return render_message_edit(embeds)

    # --- key points, status ------------------------------------------------------------------

    async def _deliver_key_points(
        self, sub: SubscriptionRecord, row: Delivery, change: KeyPointsChanged
    ) -> None:
        ctx = self._context(row, sub)
        destination = await self.destination(sub, self._context(row, sub))
        sub = await self.store.get_subscription(sub.id) or sub
        if sub.thread and sub.starter_message_id is not None and sub.channel_id is not None:
            starter = self._starter_payload(KeyPoints(change.kind, change.items), ctx)
            try:
                await self.edit(sub.channel_id, sub.starter_message_id, starter)
            except discord.NotFound:
                log.info("subscription %s: the thread's starter message is gone", sub.id)
        payload = render_key_points_change(change, ctx, ping=sub.mention_role_id is not None)
        message = await self._post_row(destination, payload, row)
        await self.store.mark_batch_sent(
            [row.id], message.id, now=self.clock(), channel_id=destination, record=[]
        )

    async def _deliver_status(
        self, sub: SubscriptionRecord, row: Delivery, change: StatusChanged
    ) -> None:
        announce = (change.status is StoryStatus.ENDED and sub.announced_status != "ended") or (
            change.status is StoryStatus.LIVE and sub.announced_status == "ended"
        )
        if not announce:  # quiet spells, and a second "ended", are not worth a message
            await self.store.mark_batch_sent(
                [row.id], None, now=self.clock(), channel_id=None, record=[]
            )
            return
        destination = await self.destination(sub, self._context(row, sub))
        payload = render_status_change(change, self._context(row, sub))
        message = await self._post_row(destination, payload, row)
        await self.store.set_announced_status(sub.id, change.status.value)
        await self.store.mark_batch_sent(
            [row.id], message.id, now=self.clock(), channel_id=destination, record=[]
        )

    # --- threads ---------------------------------------------------------------------------

    async def forget_thread(self, sub: SubscriptionRecord) -> SubscriptionRecord:
        """The story's thread was deleted or locked: the next post makes a new one."""
        log.info("subscription %s: thread %s is gone; starting a new one", sub.id, sub.thread_id)
        await self.store.set_thread_starter(
            sub.id, thread_id=None, starter_message_id=sub.starter_message_id
        )
        return await self.store.get_subscription(sub.id) or sub

    async def refresh_starter(self, sub: SubscriptionRecord, ctx: RenderContext) -> None:
        """Thread mode: show the story's current key points in the thread's starter message."""
        if not sub.thread or sub.starter_message_id is None or sub.channel_id is None:
            return
        current = await self.store.current_key_points(sub.story_id)
        if not current:
            return
        starter = self._starter_payload(KeyPoints(current[0].kind, current[0].items), ctx)
        try:
            await self.edit(sub.channel_id, sub.starter_message_id, starter)
        except discord.NotFound:
            log.info("subscription %s: the thread's starter message is gone", sub.id)

    @staticmethod
    def _starter_payload(key_points: KeyPoints, ctx: RenderContext) -> Payload:
        return {
            "content": "",
            "embeds": [key_points_embed(key_points, ctx)],
            "allowed_mentions": {"parse": []},
        }

    async def destination(self, sub: SubscriptionRecord, ctx: RenderContext) -> int:
        """Where the subscription's messages go: its channel, or the story's thread there
        (made on first use: a starter message holding the key points, then the thread)."""
        assert sub.channel_id is not None
        if not sub.thread:
            return sub.channel_id
        if sub.thread_id is not None:
            return sub.thread_id
        current = await self.store.current_key_points(sub.story_id)
        key_points = (
            KeyPoints(current[0].kind, current[0].items)
            if current
            else KeyPoints(KeyPointsKind.SUMMARY, ())
        )
        # a new thread after one was lost gets a new nonce (the old starter's id in it)
        nonce = "t" + _digest("thread", sub.id, sub.created_at.isoformat(), sub.starter_message_id)
        starter = await self.post(
            sub.channel_id, self._starter_payload(key_points, ctx), nonce=nonce
        )
        await self.limiter.acquire()
        try:
            thread = await self.client.http.start_thread_with_message(
                sub.channel_id,
                starter.id,
                name=ctx.story_name[:100] or "Updates",
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
            thread_id = int(thread["id"])
        except discord.HTTPException as error:
            if error.code != 160004:  # "a thread has already been created for this message"
                raise
            thread_id = starter.id  # a thread started from a message has the message's id
        await self.store.set_thread_starter(
            sub.id, thread_id=thread_id, starter_message_id=starter.id
        )
        log.info("subscription %s: thread %s in channel %s", sub.id, thread_id, sub.channel_id)
        return thread_id

    # --- alerts and pausing -----------------------------------------------------------------

    async def alerts_channel(self, guild_id: int) -> int | None:
        """The server's alerts channel, else its system channel (None: neither)."""
        channel_id = await self.store.alerts_channel(guild_id)
        if channel_id is None:
            await self.limiter.acquire()
            data: dict[str, Any] = dict(await self.client.http.get_guild(guild_id))
            system = data.get("system_channel_id")
            channel_id = int(system) if system else None
        return channel_id

    async def send_alert(self, alert: Alert) -> int | None:
        """A moderators' alert (a source paused or resumed), for the dispatcher."""
        if alert.guild_id is None:
            return None
        try:
            channel_id = await self.alerts_channel(alert.guild_id)
            if channel_id is None:
                log.warning("guild %s: nowhere to say %s", alert.guild_id, alert_text(alert))
                return None
            payload = {
                "content": alert_text(alert)[:2000],
                "embeds": [],
                "allowed_mentions": {"parse": []},
            }
            message = await self.post(channel_id, payload, nonce="a" + _digest("alert", alert.id))
        except Exception as error:
            outcome = classify(error)
            retry_after = outcome.retry_after if isinstance(outcome, Retry) else None
            raise SendFailed(
                str(outcome), permanent=not isinstance(outcome, Retry), retry_after=retry_after
            ) from error
        return message.id

    async def pause(self, sub: SubscriptionRecord, reason: str) -> None:
        """Pause the subscription and, the first time, say so in the server's alerts channel."""
        now = self.clock()
        if not await self.store.pause_subscription_once(sub.id, reason=reason, now=now):
            return
        log.warning(
            "guild %s: subscription %s to channel %s paused: %s",
            sub.guild_id,
            sub.id,
            sub.channel_id,
            reason,
        )
        if sub.guild_id is None:
            return
        try:
            channel_id = await self.alerts_channel(sub.guild_id)
            if channel_id is None or channel_id == sub.channel_id:
                log.warning("guild %s: nowhere to say that delivery paused", sub.guild_id)
                return
            story = await self.store.get_story(sub.story_id)
            text = pause_alert_text(story.name, sub, reason)
            nonce = "p" + _digest("pause", sub.id, now.isoformat())
            await self.post(
                channel_id,
                {"content": text[:2000], "embeds": [], "allowed_mentions": {"parse": []}},
                nonce=nonce,
            )
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError, OSError) as error:
            log.warning("guild %s: could not say that delivery paused: %s", sub.guild_id, error)


def pause_alert_text(story_name: str, sub: SubscriptionRecord, reason: str) -> str:
    """What moderators are told when a subscription pauses, with what to do about it."""
    name = discord.utils.escape_markdown(story_name)
    where = f"<#{sub.channel_id}>"
    if reason.startswith(CHANNEL_GONE):
        return (
            f"Bulletin stopped posting **{name}** to {where}: {reason}. To follow the story "
            f"in another channel, use `/subscribe` there; `/unsubscribe story:{name}` (without "
            "a channel) removes the old subscription."
        )
    needs = "View Channel, Send Messages and Embed Links"
    if sub.thread:
        needs += ", Create Public Threads and Send Messages in Threads"
    return (
        f"Bulletin paused posting **{name}** to {where}: {reason}. Give Bulletin {needs} "
        "there, then use `/subscribe` there again to resume; nothing waiting is lost."
    )
