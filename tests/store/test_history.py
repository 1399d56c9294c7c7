"""The delivery history: every attempt to deliver, with what, where, when, its outcome and why."""

from __future__ import annotations

from datetime import timedelta

from bot.model import (
    AlertKind,
    DeliveryKind,
    DeliveryOutcome,
    FailureReason,
    PauseReason,
)
from bot.outcome import GivenUp, Paused, Retry, Sent, Shown
from tests.builders import T0, entry, poll, snap

LATER = T0 + timedelta(minutes=5)
DUE = T0 + timedelta(hours=1)


async def followed(store, guild_id=1, channel_id=10, name="S"):
    story = await store.ensure_story(name, guild_id=guild_id, now=T0)
    source = await store.add_source(story, f"https://ex.org/{name}", now=T0)
    sub = await store.subscribe(story, guild_id=guild_id, channel_id=channel_id, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), entry(2, title="Ferry resumes")), LATER)
    return story, source, sub


async def test_every_attempt_is_kept_with_its_outcome_newest_first(store):
    story, source, _ = await followed(store)
    (row,) = await store.pending_deliveries(DUE)
    retry = Retry(FailureReason.DISCORD_ERROR, "Discord answered 503", at=DUE)
    await store.record_delivery([row], retry, now=LATER)
    shown = Shown(((source, "e2"),))
    await store.record_delivery([row], Sent(77, 10, effects=(shown,)), now=DUE)
    sent, failed = await store.delivery_history(1)
    assert (sent.outcome, sent.message_id, sent.channel_id, sent.at) == (
        DeliveryOutcome.SENT,
        77,
        10,
        DUE,
    )
    assert (failed.outcome, failed.reason, failed.detail, failed.next_attempt) == (
        DeliveryOutcome.RETRY,
        "discord_error",
        "Discord answered 503",
        DUE,
    )
    assert (sent.kind, sent.title, sent.entry_id, sent.story_id) == (
        DeliveryKind.NEW,
        "Ferry resumes",
        "e2",
        story,
    )


async def test_history_is_per_server_and_can_be_narrowed_to_a_story(store):
    await followed(store, guild_id=1, name="A")
    theirs, _, _ = await followed(store, guild_id=2, channel_id=20, name="B")
    for row in await store.pending_deliveries(DUE):
        await store.record_delivery([row], Sent(1, row.channel_id), now=DUE)
    assert [a.guild_id for a in await store.delivery_history(1)] == [1]
    assert [a.story_id for a in await store.delivery_history(2, story_id=theirs)] == [theirs]
    assert await store.delivery_history(2, story_id=theirs + 100) == []


async def test_a_pause_keeps_the_rows_and_queues_one_alert(store):
    _, _, sub = await followed(store)
    (row,) = await store.pending_deliveries(DUE)
    paused = Paused(PauseReason.NO_PERMISSION, "Discord said 403 50013: Missing Permissions")
    assert await store.record_delivery([row], paused, now=DUE) is True
    assert await store.record_delivery([row], paused, now=DUE) is False  # said once
    (alert,) = await store.pending_deliveries(DUE)
    assert alert.kind is DeliveryKind.ALERT and alert.alert is not None
    assert (alert.alert.kind, alert.alert.pause_reason, alert.alert.channel_id) == (
        AlertKind.SUBSCRIPTION_PAUSED,
        PauseReason.NO_PERMISSION,
        10,
    )
    (record,) = await store.subscriptions(guild_id=1)
    assert (record.pause_reason, record.pause_detail) == (paused.reason, paused.detail)
    await store.subscribe(record.story_id, guild_id=1, channel_id=10, now=DUE)
    assert [r.id for r in await store.pending_deliveries(DUE) if r.subscription_id == sub] == [
        row.id
    ]


async def test_a_row_given_up_is_kept_but_never_due_again(store):
    await followed(store)
    (row,) = await store.pending_deliveries(DUE)
    await store.record_delivery([row], GivenUp(FailureReason.REFUSED, "400"), now=DUE)
    assert await store.pending_deliveries(DUE + timedelta(days=1)) == []
    (attempt,) = await store.delivery_history(1)
    assert (attempt.outcome, attempt.reason) == (DeliveryOutcome.GIVEN_UP, "refused")


async def test_history_older_than_the_retention_window_is_pruned(store):
    await followed(store)
    (row,) = await store.pending_deliveries(DUE)
    await store.record_delivery([row], Sent(1, 10), now=DUE)
    await store.prune(DUE + timedelta(days=29))
    assert len(await store.delivery_history(1)) == 1
    await store.prune(DUE + timedelta(days=31))
    assert await store.delivery_history(1) == []
