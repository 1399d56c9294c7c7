"""Forum subscriptions and channel names: kept at /subscribe, followed on renames, named in the
alerts about a subscription, and a lost forum post told to moderators once."""

from __future__ import annotations

from datetime import timedelta

from bot.model import AlertKind, DeliveryKind, FailureReason, PauseReason
from bot.outcome import Retry, Sent, ThreadForgotten, ThreadStarted
from bot.store import Store
from tests.builders import T0

GUILD = 7
FORUM = 900
NEWS = 901
DUE = T0 + timedelta(hours=1)


async def forum_subscription(store: Store, *, name: str | None = "live-forum") -> int:
    story = await store.ensure_story("Election night", guild_id=GUILD, now=T0)
    return await store.subscribe(
        story, guild_id=GUILD, channel_id=FORUM, forum=True, channel_name=name, now=T0
    )


async def alerts(store: Store) -> list:
    return [
        row.alert
        for row in await store.pending_deliveries(DUE, targets=("discord",))
        if row.kind is DeliveryKind.ALERT
    ]


async def test_a_forum_subscription_is_kept_with_its_channel_name_and_needs_a_post(store):
    sub_id = await forum_subscription(store)
    sub = await store.get_subscription(sub_id)
    assert sub is not None
    assert (sub.forum, sub.thread, sub.channel_name, sub.thread_id) == (
        True,
        True,
        "live-forum",
        None,
    )
    starter = await store.queue_starter(sub_id, now=T0)
    assert starter is not None and starter.kind is DeliveryKind.STARTER


async def test_subscribing_again_replaces_the_name_and_a_text_channel_is_no_forum(store):
    story = await store.ensure_story("Election night", guild_id=GUILD, now=T0)
    first = await store.subscribe(
        story, guild_id=GUILD, channel_id=NEWS, channel_name="news", now=T0
    )
    again = await store.subscribe(
        story, guild_id=GUILD, channel_id=NEWS, channel_name="breaking", now=T0
    )
    sub = await store.get_subscription(again)
    assert first == again and sub is not None
    assert (sub.forum, sub.thread, sub.channel_name) == (False, False, "breaking")
    assert await store.queue_starter(again, now=T0) is None


async def test_a_rename_is_kept_for_every_subscription_of_the_channel(store):
    sub_id = await forum_subscription(store)
    other = await store.ensure_story("Storm", guild_id=GUILD, now=T0)
    second = await store.subscribe(
        other, guild_id=GUILD, channel_id=FORUM, forum=True, channel_name="live-forum", now=T0
    )
    elsewhere = await store.subscribe(
        other, guild_id=GUILD, channel_id=NEWS, channel_name="news", now=T0
    )
    assert await store.rename_channel(FORUM, "results") == 2
    assert await store.rename_channel(FORUM, "results") == 0  # already so
    names = [(await store.get_subscription(i)).channel_name for i in (sub_id, second, elsewhere)]
    assert names == ["results", "results", "news"]


async def test_a_paused_subscription_alert_names_its_channel(store):
    sub_id = await forum_subscription(store, name="live-forum")
    await store.rename_channel(FORUM, "results")
    await store.pause_subscription(
        sub_id, reason=PauseReason.CHANNEL_GONE, detail="Unknown Channel", now=T0
    )
    (alert,) = await alerts(store)
    assert (alert.kind, alert.channel_id, alert.channel_name, alert.forum) == (
        AlertKind.SUBSCRIPTION_PAUSED,
        FORUM,
        "results",
        True,
    )


async def test_a_lost_forum_post_is_forgotten_and_told_once(store):
    sub_id = await forum_subscription(store)
    starter = await store.queue_starter(sub_id, now=T0)
    assert starter is not None
    await store.record_delivery(
        [starter], Sent(555, 555, effects=(ThreadStarted(555, 555),)), now=T0
    )
    lost = Retry(FailureReason.THREAD_LOST, "gone", at=T0, effects=(ThreadForgotten(tell=True),))
    await store.record_delivery([starter], lost, now=T0)
    sub = await store.get_subscription(sub_id)
    assert sub is not None and sub.thread_id is None
    # told once: a second loss reported before a new post exists says nothing more
    await store.record_delivery([starter], lost, now=T0 + timedelta(seconds=1))
    (alert,) = await alerts(store)
    assert (alert.kind, alert.story, alert.channel_name) == (
        AlertKind.POST_REPLACED,
        "Election night",
        "live-forum",
    )


async def test_a_lost_thread_of_a_text_channel_is_replaced_without_an_alert(store):
    story = await store.ensure_story("Election night", guild_id=GUILD, now=T0)
    sub_id = await store.subscribe(story, guild_id=GUILD, channel_id=NEWS, thread=True, now=T0)
    starter = await store.queue_starter(sub_id, now=T0)
    assert starter is not None
    await store.record_delivery([starter], Sent(1, NEWS, effects=(ThreadStarted(2, 1),)), now=T0)
    forgotten = Retry(FailureReason.THREAD_LOST, "gone", at=T0, effects=(ThreadForgotten(),))
    await store.record_delivery([starter], forgotten, now=T0)
    sub = await store.get_subscription(sub_id)
    assert sub is not None and sub.thread_id is None
    assert await alerts(store) == []
