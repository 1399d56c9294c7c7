"""Publishing in announcement channels: the option, each channel's hourly budget with its
reserve for key points, Discord's word to wait, one alert when messages are left unpublished,
and the record of it all, the same on every backend and across a reopening."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.model import AlertKind, DeliveryKind, PublishOutcome
from bot.store import open_store
from bot.store.publishing import PublishBudget, PublishRequest
from tests.builders import T0

GUILD = 7001
CHANNEL = 8001
BUDGET = PublishBudget(per_hour=4, reserve=2)


def ask(message_id: int, *, key: bool = False, channel: int = CHANNEL) -> PublishRequest:
    return PublishRequest(
        channel_id=channel,
        guild_id=GUILD,
        subscription_id=None,
        delivery_id=message_id,
        message_id=message_id,
        key=key,
        story="Election",
    )


async def in_guild(store) -> None:
    """The server exists (as it does once a channel of it subscribed): its alerts refer to it."""
    story = await store.ensure_story("Election", now=T0)
    await store.subscribe(story, guild_id=GUILD, channel_id=CHANNEL, now=T0)


async def unpublished_alerts(store) -> list:
    return [
        row
        for row in await store.pending_deliveries(T0 + timedelta(days=1), targets=("discord",))
        if row.kind is DeliveryKind.ALERT and row.alert.kind is AlertKind.UNPUBLISHED
    ]


async def test_the_publish_option_is_kept_on_the_subscription(store):
    story = await store.ensure_story("Election", now=T0)
    sub = await store.subscribe(story, guild_id=GUILD, channel_id=CHANNEL, now=T0)
    assert (await store.get_subscription(sub)).publish is False
    await store.set_publish(sub, True)
    assert (await store.get_subscription(sub)).publish is True
    await store.subscribe(story, guild_id=GUILD, channel_id=CHANNEL, now=T0)
    assert (await store.get_subscription(sub)).publish is True  # set by /subscribe each time
    await store.set_publish(sub, False)
    assert (await store.get_subscription(sub)).publish is False


async def test_updates_leave_the_reserve_for_key_points(store):
    await in_guild(store)
    taken = [await store.take_publish(ask(n), now=T0, budget=BUDGET) for n in range(1, 4)]
    assert [t.outcome for t in taken] == [
        PublishOutcome.SENDING,
        PublishOutcome.SENDING,
        PublishOutcome.NO_BUDGET,
    ]
    key = [await store.take_publish(ask(n, key=True), now=T0, budget=BUDGET) for n in (4, 5, 6)]
    assert [t.granted for t in key] == [True, True, False]


async def test_the_first_message_left_unpublished_in_an_hour_alerts_once(store):
    await in_guild(store)
    for n in range(1, 3):
        await store.take_publish(ask(n), now=T0, budget=BUDGET)
    left = [await store.take_publish(ask(n), now=T0, budget=BUDGET) for n in range(3, 6)]
    assert [t.alerted for t in left] == [True, False, False]
    [alert] = await unpublished_alerts(store)
    assert (alert.guild_id, alert.alert.channel_id, alert.alert.story) == (
        GUILD,
        CHANNEL,
        "Election",
    )
    # an hour on, the hour's publishes are back; a later shortage is said again
    later = T0 + timedelta(hours=1, seconds=1)
    assert (await store.take_publish(ask(10), now=later, budget=BUDGET)).granted
    await store.take_publish(ask(11), now=later, budget=BUDGET)
    assert (await store.take_publish(ask(12), now=later, budget=BUDGET)).alerted
    assert len(await unpublished_alerts(store)) == 2


async def test_the_hour_slides_and_other_channels_have_their_own(store):
    await in_guild(store)
    await store.take_publish(ask(1), now=T0, budget=BUDGET)
    await store.take_publish(ask(2), now=T0 + timedelta(minutes=30), budget=BUDGET)
    at_59 = T0 + timedelta(minutes=59)
    assert not (await store.take_publish(ask(3), now=at_59, budget=BUDGET)).granted
    assert (await store.take_publish(ask(4, channel=CHANNEL + 1), now=at_59, budget=BUDGET)).granted
    at_61 = T0 + timedelta(minutes=61)  # the first publish is over an hour old
    assert (await store.take_publish(ask(5), now=at_61, budget=BUDGET)).granted


async def test_discords_wait_holds_every_publish_of_the_channel_until_then(store):
    await in_guild(store)
    ticket = await store.take_publish(ask(1, key=True), now=T0, budget=BUDGET)
    until = T0 + timedelta(hours=2)
    await store.publish_done(
        ticket.id, outcome=PublishOutcome.FAILED, detail="Discord said 429", wait_until=until
    )
    at = T0 + timedelta(minutes=90)  # past the sliding hour, still within Discord's wait
    held = await store.take_publish(ask(2, key=True), now=at, budget=BUDGET)
    assert held.outcome is PublishOutcome.WAITING and held.alerted
    assert (
        await store.take_publish(ask(3, key=True), now=until + timedelta(seconds=1), budget=BUDGET)
    ).granted


async def test_what_was_published_is_recorded(store):
    await in_guild(store)
    ticket = await store.take_publish(ask(1), now=T0, budget=BUDGET)
    await store.publish_done(ticket.id, outcome=PublishOutcome.PUBLISHED)
    for n in (2, 3):
        await store.take_publish(ask(n), now=T0, budget=BUDGET)
    records = await store.publications(channel_id=CHANNEL)
    assert [(r.message_id, r.outcome, r.key) for r in records] == [
        (1, PublishOutcome.PUBLISHED, False),
        (2, PublishOutcome.SENDING, False),
        (3, PublishOutcome.NO_BUDGET, False),
    ]
    assert [r.message_id for r in await store.publications(delivery_id=2)] == [2]
    assert records[0].at == T0 and records[0].guild_id == GUILD


async def test_the_budget_holds_across_a_reopening(store_target):
    first = await open_store(store_target)
    await in_guild(first)
    for n in (1, 2):
        assert (await first.take_publish(ask(n), now=T0, budget=BUDGET)).granted
    await first.close()
    again = await open_store(store_target)
    try:
        assert not (await again.take_publish(ask(3), now=T0, budget=BUDGET)).granted
    finally:
        await again.close()


async def test_publishes_taken_at_once_never_exceed_the_budget(store_target):
    """Two connections (on PostgreSQL, as two processes would) take publishes together."""
    stores = [await open_store(store_target) for _ in range(2)]
    await in_guild(stores[0])
    try:
        tickets = await asyncio.gather(
            *(
                stores[n % 2].take_publish(ask(n, key=True), now=T0, budget=BUDGET)
                for n in range(12)
            )
        )
    finally:
        for opened in stores:
            await opened.close()
    assert sum(t.granted for t in tickets) == BUDGET.per_hour
