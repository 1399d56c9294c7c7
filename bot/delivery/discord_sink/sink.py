"""The Discord sink: outbox rows → messages, edits and threads, through a logged-in
`discord.Client` (REST only: nothing depends on the gateway's cache).

`plan` groups a subscription's rows into messages: new updates of one poll are batched (≤10
embeds, ≤6,000 characters a message; more than 30 become the newest 30 and "and K more —
/latest"); every other row is a message of its own. `send` posts one of them and says how it
went: key-point changes ping the subscription's role (and, in thread mode, edit the thread's
starter message in place); "coverage ended" is said once; a digest lists its period; a thread
starter opens the story's thread; an alert goes to the server's alerts channel. Edits are in
`edits`; publishing in announcement channels in `publish`. Every request passes our global
`RateLimiter` and the `ChannelPacer`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import discord

from bot import limits
from bot.delivery.discord_sink.alerts import alert_message
from bot.delivery.discord_sink.edits import deliver_edit
from bot.delivery.discord_sink.errors import (
    THREAD_ARCHIVED,
    THREAD_EXISTS,
    outcome_of,
    thread_lost,
)
from bot.delivery.discord_sink.forums import ForumPosts
from bot.delivery.discord_sink.payloads import to_send_kwargs
from bot.delivery.discord_sink.publish import Publisher
from bot.delivery.limiter import ChannelPacer, RateLimiter
from bot.delivery.render import (
    MAX_UPDATES_PER_POLL,
    Payload,
    RenderContext,
    batch_updates,
    render_digest,
    render_key_points,
    render_key_points_change,
    render_notice,
    render_status_change,
    render_updates,
    update_embed,
)
from bot.delivery.routing import pings_for_updates
from bot.delivery.sinks import Unit
from bot.model import (
    DeliveryKind,
    EditedEntry,
    FailureReason,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    StatusChanged,
    StoryStatus,
)
from bot.outcome import (
    Announced,
    EditedInPlace,
    GivenUp,
    Outcome,
    Paused,
    Retry,
    Sent,
    Shown,
    ThreadForgotten,
    ThreadStarted,
)
from bot.schedule import liveliest
from bot.store import Delivery, Store, SubscriptionRecord
from bot.store.publishing import PublishRequest

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

THREAD_ARCHIVE_MINUTES: Final = 10080  # one of the durations Discord accepts (a week)


def _now() -> datetime:
    return datetime.now(UTC)


class NoThread(Exception):
    """A thread-mode subscription has no thread yet: its starter goes first."""


class DiscordSink:
    """Sends outbox rows to Discord. One instance per process; `send` may run for several
    subscriptions at once."""

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        *,
        limiter: RateLimiter,
        pacer: ChannelPacer | None = None,
        clock: Clock = _now,
    ) -> None:
        self.client = client
        self.store = store  # read only: what a message shows; the dispatcher writes
        self.limiter = limiter
        self.pacer = pacer or ChannelPacer()
        self.clock = clock
        self.sent = 0  # messages posted (not edits), for the benchmark and logs
        self.forums = ForumPosts(self)
        self.publisher = Publisher(client, store, limiter=limiter, clock=clock)

    # --- requests --------------------------------------------------------------------------

    async def post(self, channel_id: int, payload: Payload, *, nonce: str) -> discord.Message:
        """Post one payload with a deterministic nonce (discord.py adds `enforce_nonce`)."""
        await self.pacer.wait(channel_id)
        await self.limiter.acquire()
        channel = self.client.get_partial_messageable(channel_id)
        message = await channel.send(**to_send_kwargs(payload), nonce=nonce)
        self.sent += 1
        return message

    async def edit(self, channel_id: int, message_id: int, payload: Payload) -> None:
        """Edit a posted message. In a thread archived for inactivity (Discord refuses the
        edit), the thread is opened again first; a locked one stays refused."""
        message = self.client.get_partial_messageable(channel_id).get_partial_message(message_id)
        await self.limiter.acquire()
        try:
            await message.edit(**to_send_kwargs(payload))
        except discord.HTTPException as error:
            if error.code != THREAD_ARCHIVED or not await self.forums.unarchive(channel_id):
                raise
            await self.limiter.acquire()
            await message.edit(**to_send_kwargs(payload))

    async def get_guild(self, guild_id: int) -> dict[str, Any]:
        await self.limiter.acquire()
        return dict(await self.client.http.get_guild(guild_id))

    # --- planning --------------------------------------------------------------------------

    def plan(self, rows: Sequence[Delivery], sub: SubscriptionRecord | None) -> list[Unit]:
        units: list[Unit] = []
        index = 0
        while index < len(rows):
            first = rows[index]
            run = [first]
            for row in rows[index + 1 :]:
                same_claim = first.batch is not None and row.batch == first.batch
                same_poll = (
                    first.batch is None
                    and row.batch is None
                    and first.kind is DeliveryKind.NEW
                    and row.kind is DeliveryKind.NEW
                    and row.created_at == first.created_at
                )
                if not (same_claim or same_poll):
                    break
                run.append(row)
            if first.batch is not None:
                units.append(Unit(tuple(run), first.batch, first.batch_more, run=index))
            elif first.kind is DeliveryKind.NEW and sub is not None:
                units.extend(self._batches(run, sub, index))
            else:
                units.append(Unit((first,), first.nonce, run=index))
            index += len(run)
        return units

    def _batches(self, run: list[Delivery], sub: SubscriptionRecord, key: int) -> list[Unit]:
        """New updates of one poll as messages; beyond 30, the oldest are left out."""
        skipped = max(len(run) - MAX_UPDATES_PER_POLL, 0)
        units = []
        if skipped:
            note = f"left out: {len(run)} new updates at once; the newest 30 were posted"
            units.append(Unit(tuple(run[:skipped]), run[0].nonce, skip=True, note=note, run=key))
        kept = run[skipped:]
        groups = batch_updates([self._embed(row, sub) for row in kept], keep=len(kept))
        start = 0
        for number, payload in enumerate(groups):
            count = len(payload["embeds"])
            rows = tuple(kept[start : start + count])
            more = skipped if number == len(groups) - 1 else 0
            units.append(Unit(rows, rows[0].nonce, more, run=key))
            start += count
        return units

    # --- sending ---------------------------------------------------------------------------

    async def send(
        self, unit: Unit, sub: SubscriptionRecord | None, later: Sequence[Delivery]
    ) -> Outcome:
        if unit.skip:
            return Sent(note=unit.note)
        row = unit.rows[0]
        try:
            if row.kind is DeliveryKind.ALERT:
                return await self._alert(unit)
            assert sub is not None, "only alerts have no subscription"
            outcome = await self._send(unit, sub, later)
            if sub.publish and isinstance(outcome, Sent):
                outcome = await self._publish(unit, sub, outcome)
            return outcome
        except NoThread:
            return Retry(FailureReason.THREAD_LOST, "no thread yet", at=self.clock())
        except Exception as error:
            outcome = outcome_of(error)  # raises again what is not Discord's answer
            in_thread = sub is not None and sub.thread_id is not None
            if in_thread and row.kind is not DeliveryKind.STARTER and thread_lost(error):
                assert sub is not None
                log.info("subscription %s: thread %s is gone", sub.id, sub.thread_id)
                return Retry(
                    FailureReason.THREAD_LOST,
                    f"thread {sub.thread_id}: {outcome_detail(outcome)}",
                    at=self.clock(),
                    # a forum post replaced in plain sight: moderators are told, once
                    effects=(ThreadForgotten(tell=sub.forum),),
                )
            return outcome

    async def _send(
        self, unit: Unit, sub: SubscriptionRecord, later: Sequence[Delivery]
    ) -> Outcome:
        row = unit.rows[0]
        change = row.change
        if row.kind is DeliveryKind.STARTER:
            return await self._start_thread(unit, sub)
        if row.kind is DeliveryKind.DIGEST:
            return await self._digest(unit, sub)
        if row.kind is DeliveryKind.NEW:
            return await self._updates(unit, sub)
        if isinstance(change, EditedEntry):
            return await deliver_edit(self, sub, row, change, later, nonce=unit.nonce)
        if isinstance(change, KeyPointsChanged):
            return await self._key_points(unit, sub, change)
        if isinstance(change, StatusChanged):
            return await self._status(unit, sub, change)
        return GivenUp(FailureReason.INTERNAL, f"no way to send a {row.kind} row")

    def context(self, row: Delivery, sub: SubscriptionRecord) -> RenderContext:
        return RenderContext(
            story_name=row.story_name or "",
            story_key=row.story_id if row.story_id is not None else "",
            source_name=urlsplit(row.source_url).hostname if row.source_url else None,
            source_url=row.source_url,
            role_id=sub.mention_role_id,
        )

    def destination(self, sub: SubscriptionRecord) -> int:
        """Where the subscription's messages go: its channel, or the story's thread there."""
        assert sub.channel_id is not None
        if not sub.thread:
            return sub.channel_id
        if sub.thread_id is None:
            raise NoThread
        return sub.thread_id

    def _embed(self, row: Delivery, sub: SubscriptionRecord) -> dict[str, Any]:
        assert isinstance(row.change, NewEntry)
        return update_embed(row.change.entry, self.context(row, sub))

    async def _updates(self, unit: Unit, sub: SubscriptionRecord) -> Outcome:
        # the subscription's filters picked these: its role is pinged for them, but not for a
        # backfill (earlier updates a moderator asked to see when subscribing)
        backfill = any(row.backfill for row in unit.rows)
        ping = sub.mention_role_id if pings_for_updates(sub.filters) and not backfill else None
        payload = render_updates(
            [self._embed(row, sub) for row in unit.rows], more=unit.more, ping_role=ping
        )
        destination = self.destination(sub)
        message = await self.post(destination, payload, nonce=unit.nonce)
        shown = tuple((row.source_id or 0, row.entry_id or "") for row in unit.rows)
        return Sent(message.id, destination, effects=(Shown(shown),))

    async def _key_points(
        self, unit: Unit, sub: SubscriptionRecord, change: KeyPointsChanged
    ) -> Outcome:
        row = unit.rows[0]
        ctx = self.context(row, sub)
        destination = self.destination(sub)
        await self.refresh_starter(sub, KeyPoints(change.kind, change.items), ctx)
        payload = render_key_points_change(change, ctx, ping=sub.mention_role_id is not None)
        message = await self.post(destination, payload, nonce=unit.nonce)
        return Sent(message.id, destination)

    async def _status(self, unit: Unit, sub: SubscriptionRecord, change: StatusChanged) -> Outcome:
        ended = StoryStatus.ENDED
        announce = (change.status is ended and sub.announced_status is not ended) or (
            change.status is StoryStatus.LIVE and sub.announced_status is ended
        )
        if not announce:
            return Sent(note=f"not announced: {change.previous.value} → {change.status.value}")
        destination = self.destination(sub)
        payload = render_status_change(change, self.context(unit.rows[0], sub))
        message = await self.post(destination, payload, nonce=unit.nonce)
        if sub.forum:
            await self.forums.show_status(sub, change.status)
        return Sent(message.id, destination, effects=(Announced(change.status),))

    async def _digest(self, unit: Unit, sub: SubscriptionRecord) -> Outcome:
        content = unit.rows[0].digest
        assert content is not None
        entries = [entry for _, entry in content.entries]
        ctx = self.context(unit.rows[0], sub)
        ping = sub.mention_role_id is not None and (
            content.key_points_changed or (pings_for_updates(sub.filters) and bool(entries))
        )
        payload = render_digest(
            entries,
            content.key_points,
            ctx,
            key_points_changed=content.key_points_changed,
            ping=ping,
        )
        if payload is None:
            return Sent(note="nothing happened in the period")
        destination = self.destination(sub)
        message = await self.post(destination, payload, nonce=unit.nonce)
        if content.key_points_changed and content.key_points is not None:
            await self.refresh_starter(sub, content.key_points, ctx)
        shown = tuple((source_id, entry.id) for source_id, entry in content.entries)
        return Sent(message.id, destination, effects=(Shown(shown, digest=True),))

    async def _publish(self, unit: Unit, sub: SubscriptionRecord, sent: Sent) -> Sent:
        """An announcement channel's new message, published if the hour allows (an edit in
        place reaches the servers that follow the channel by itself)."""
        edited = any(isinstance(effect, EditedInPlace) for effect in sent.effects)
        if sent.message_id is None or sent.channel_id is None or edited:
            return sent
        if sent.channel_id != sub.channel_id:  # a thread's messages cannot be published
            return sent
        row = unit.rows[0]
        request = PublishRequest(
            channel_id=sent.channel_id,
            guild_id=sub.guild_id,
            subscription_id=sub.id,
            delivery_id=row.id,
            message_id=sent.message_id,
            key=isinstance(row.change, KeyPointsChanged | StatusChanged),
            story=row.story_name,
        )
        try:
            note = await self.publisher.publish(request)
        except Exception:  # the store failed: the message is posted, and must not go again
            log.exception(
                "channel %s: message %s left unpublished", sent.channel_id, sent.message_id
            )
            note = "not published: Bulletin could not count this hour's publishes"
        return replace(sent, note=note)

    # --- threads ---------------------------------------------------------------------------

    async def _start_thread(self, unit: Unit, sub: SubscriptionRecord) -> Outcome:
        """Post the story's key points in the channel and open the story's thread from them."""
        assert sub.channel_id is not None
        row = unit.rows[0]
        current = await self.store.current_key_points(sub.story_id)
        key_points = (
            KeyPoints(current[0].kind, current[0].items)
            if current
            else KeyPoints(KeyPointsKind.SUMMARY, ())
        )
        ctx = self.context(row, sub)
        if sub.forum:
            sources = await self.store.sources_of_story(sub.story_id)
            status = liveliest(s.status for s in sources) if sources else StoryStatus.LIVE
            payload = render_key_points(key_points, ctx)
            return await self.forums.start(sub, row, payload, status)
        starter = await self.post(
            sub.channel_id, render_key_points(key_points, ctx), nonce=unit.nonce
        )
        await self.limiter.acquire()
        try:
            thread = await self.client.http.start_thread_with_message(
                sub.channel_id,
                starter.id,
                name=ctx.story_name[: limits.THREAD_NAME] or "Updates",
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
            thread_id = int(thread["id"])
        except discord.HTTPException as error:
            if error.code != THREAD_EXISTS:
                raise
            thread_id = starter.id  # a thread started from a message has the message's id
        log.info("subscription %s: thread %s in channel %s", sub.id, thread_id, sub.channel_id)
        return Sent(starter.id, sub.channel_id, effects=(ThreadStarted(thread_id, starter.id),))

    async def refresh_starter(
        self, sub: SubscriptionRecord, key_points: KeyPoints, ctx: RenderContext
    ) -> None:
        """Thread mode: show the story's current key points in the thread's starter message
        (in the channel; in a forum, the post's first message)."""
        if not sub.thread or sub.starter_message_id is None or sub.channel_id is None:
            return
        where = sub.thread_id if sub.forum else sub.channel_id
        if where is None:
            return
        try:
            await self.edit(where, sub.starter_message_id, render_key_points(key_points, ctx))
        except discord.NotFound:
            log.info("subscription %s: the thread's starter message is gone", sub.id)

    # --- alerts ----------------------------------------------------------------------------

    async def alerts_channel(self, guild_id: int) -> int | None:
        """The server's alerts channel, else its system channel (None: neither)."""
        channel_id = await self.store.alerts_channel(guild_id)
        if channel_id is None:
            system = (await self.get_guild(guild_id)).get("system_channel_id")
            channel_id = int(system) if system else None
        return channel_id

    async def _alert(self, unit: Unit) -> Outcome:
        row = unit.rows[0]
        alert = row.alert
        assert alert is not None and row.guild_id is not None
        try:
            channel_id = await self.alerts_channel(row.guild_id)
            text = alert_message(alert)
            if channel_id is None or channel_id == alert.channel_id:
                log.warning("guild %s: nowhere to say: %s", row.guild_id, text)
                return GivenUp(FailureReason.NO_ALERTS_CHANNEL, text)
            message = await self.post(channel_id, render_notice(text), nonce=unit.nonce)
        except Exception as error:
            outcome = outcome_of(error)
            if isinstance(outcome, Paused):  # the alerts channel refused: nothing to pause
                return GivenUp(FailureReason.REFUSED, outcome.detail)
            return outcome
        return Sent(message.id, channel_id)


def outcome_detail(outcome: Outcome) -> str:
    return getattr(outcome, "detail", None) or getattr(outcome, "note", None) or ""
