"""An edited update on Discord: the posted message edited in place (at most once a minute,
marked "Updated"), or, where editing cannot reach (over a day old, shown in a digest, gone),
a short correction."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

import discord

from bot.delivery.render import (
    Payload,
    RenderContext,
    render_correction,
    render_message_edit,
    update_embed,
)
from bot.model import DeliveryKind, EditedEntry, FailureReason
from bot.outcome import EditedInPlace, Outcome, Retry, Sent
from bot.store import Delivery, MessageEntry, Store, StoreError, SubscriptionRecord

log = logging.getLogger(__name__)

EDIT_EVERY = timedelta(minutes=1)  # at most one edit a minute per message
EDIT_REACH = timedelta(days=1)  # older messages get a correction instead


class DiscordSink(Protocol):
    """What an edit needs of the Discord sink."""

    store: Store

    def clock(self) -> datetime: ...

    def context(self, row: Delivery, sub: SubscriptionRecord) -> RenderContext: ...

    def destination(self, sub: SubscriptionRecord) -> int: ...

    async def edit(self, channel_id: int, message_id: int, payload: Payload) -> None: ...

    async def post(self, channel_id: int, payload: Payload, *, nonce: str) -> discord.Message: ...


async def deliver_edit(
    sink: DiscordSink,
    sub: SubscriptionRecord,
    row: Delivery,
    change: EditedEntry,
    later: Sequence[Delivery],
    *,
    nonce: str,
) -> Outcome:
    """Apply one edit where the subscription was shown the update."""
    assert row.source_id is not None
    now = sink.clock()
    if any(
        other.kind is DeliveryKind.EDITED
        and other.entry_id == row.entry_id
        and other.source_id == row.source_id
        for other in later
    ):
        return Sent(note="a newer edit of the same update follows")
    posted = await sink.store.posted_message(sub.id, row.source_id, change.entry.id)
    if posted is None:
        return Sent(note="the update was never shown here")
    ctx = sink.context(row, sub)
    channel_id = posted.channel_id or sink.destination(sub)
    if not posted.digest and now - posted.posted_at <= EDIT_REACH:
        shown = await sink.store.message_entries(posted)
        edits = [e.edited_at for e in shown if e.edited_at is not None]
        if edits and now - max(edits) < EDIT_EVERY:  # at most one edit a minute a message
            return Retry(
                FailureReason.EDIT_THROTTLED,
                "the message was edited less than a minute ago",
                at=max(edits) + EDIT_EVERY,
                counted=False,
                holds=False,
            )
        payload = await _rebuilt_message(sink, row, change, shown, ctx)
        try:
            await sink.edit(channel_id, posted.message_id, payload)
        except discord.NotFound:
            log.info(
                "subscription %s: message %s is gone; posting a correction",
                sub.id,
                posted.message_id,
            )
        else:
            return Sent(posted.message_id, channel_id, effects=(EditedInPlace(posted.id),))
    guild = sub.guild_id or "@me"
    link = f"https://discord.com/channels/{guild}/{channel_id}/{posted.message_id}"
    payload = render_correction(change, ctx, original_message_url=link)
    destination = sink.destination(sub)
    message = await sink.post(destination, payload, nonce=nonce)
    return Sent(message.id, destination)


async def _rebuilt_message(
    sink: DiscordSink,
    row: Delivery,
    change: EditedEntry,
    shown: Sequence[MessageEntry],
    ctx: RenderContext,
) -> Payload:
    """The embeds of a posted message of updates with this edit applied: the edited update
    marked "Updated", the others as they were posted (or as last edited in place), so that
    an edit never takes the other updates of a batch away."""
    contexts = {row.source_id: ctx}
    embeds = []
    for item in shown:
        entry, edited = item.shown, item.edited_at is not None
        if item.source_id == row.source_id and item.entry_id == change.entry.id:
            entry, edited = change.entry, True
        elif edited or entry is None:
            stored = await sink.store.get_entry(item.source_id, item.entry_id)
            entry = stored.entry if stored is not None else entry
        if entry is None:  # pragma: no cover - a posted update is kept while editable
            continue
        if item.source_id not in contexts:  # a story with several sources
            contexts[item.source_id] = ctx
            with contextlib.suppress(StoreError):  # a source removed since: keep ours
                url = (await sink.store.get_source(item.source_id)).url
                contexts[item.source_id] = replace(
                    ctx, source_name=urlsplit(url).hostname, source_url=url
                )
        embeds.append(update_embed(entry, contexts[item.source_id], edited=edited))
    if not embeds:
        embeds = [update_embed(change.entry, ctx, edited=True)]
    return render_message_edit(embeds)
