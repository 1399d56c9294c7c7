"""What happened to an update, per subscription: filters kept with the subscription, the routing
decisions a poll records, the outbox rows of an update as they stand, the digests that showed it."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from bot.model import (
    AlertKind,
    DeliveryKind,
    DigestContent,
    FailureReason,
    LeftOutReason,
    NewEntry,
    OutboxState,
    StoryStatus,
)
from bot.outcome import GivenUp, Retry, Sent, Shown
from bot.store import LeftOut, PollOutcome, PollRecord, RoutingDecision
from tests.builders import T0, entry, poll, snap

LATER = T0 + timedelta(minutes=5)
DUE = T0 + timedelta(hours=1)
FERRY = entry(2, "The ferry resumes at noon.", title="Ferry resumes")
BUS = entry(3, "Buses replace the trains; unconfirmed.", title="Rail replacement")


async def story_of(store, guild_id=1, name="S"):
    story = await store.ensure_story(name, guild_id=guild_id, now=T0)
    source = await store.add_source(story, f"https://ex.org/{name}", now=T0)
    return story, source


async def test_a_subscription_keeps_its_exclusions_and_pattern_and_again_replaces_them(store):
    story, _ = await story_of(store)
    sub = await store.subscribe(
        story, guild_id=1, channel_id=10, keywords="ferry", exclusions="rumour", pattern="^F"
    )
    (record,) = await store.subscriptions(guild_id=1)
    assert (record.id, record.keywords, record.exclusions, record.pattern) == (
        sub,
        "ferry",
        "rumour",
        "^F",
    )
    await store.subscribe(story, guild_id=1, channel_id=10, keywords="bus")
    (record,) = await store.subscriptions(guild_id=1)
    assert (record.keywords, record.exclusions, record.pattern) == ("bus", None, None)


async def test_subscribers_carry_every_filter(store):
    story, source = await story_of(store)
    await store.subscribe(
        story, guild_id=1, channel_id=10, keywords="a", exclusions="b", pattern="c"
    )
    (subscriber,) = await store.subscribers(source)
    assert (subscriber.keywords, subscriber.exclusions, subscriber.pattern) == ("a", "b", "c")


async def test_a_poll_records_why_each_subscription_was_left_without_an_update(store):
    story, source = await story_of(store)
    picky = await store.subscribe(story, guild_id=1, channel_id=10, keywords="ferry", now=T0)
    careful = await store.subscribe(
        story, guild_id=1, channel_id=11, exclusions="unconfirmed", now=T0
    )
    points = await store.subscribe(story, guild_id=1, channel_id=12, mode="key-points", now=T0)
    everything = await store.subscribe(story, guild_id=1, channel_id=13, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY, BUS), LATER)
    subs = [picky, careful, points, everything]
    assert await store.routing_decisions(source, "e3", subscription_ids=subs) == [
        RoutingDecision(
            picky, source, "e3", DeliveryKind.NEW, LeftOutReason.KEYWORDS, "ferry", LATER
        ),
        RoutingDecision(
            careful, source, "e3", DeliveryKind.NEW, LeftOutReason.EXCLUSIONS, "unconfirmed", LATER
        ),
        RoutingDecision(
            points, source, "e3", DeliveryKind.NEW, LeftOutReason.MODE, "key-points", LATER
        ),
    ]
    # what a subscription got has no decision: the outbox says it
    ferry = await store.routing_decisions(source, "e2", subscription_ids=subs)
    assert [d.subscription_id for d in ferry] == [points]
    # only the subscriptions asked about
    assert await store.routing_decisions(source, "e3", subscription_ids=[everything]) == []


async def test_a_decision_keeps_the_filter_as_it_was_when_the_update_was_routed(store):
    story, source = await story_of(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, pattern="^ferry", now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), BUS), LATER)
    await store.subscribe(story, guild_id=1, channel_id=10, pattern="rail", now=DUE)
    (decision,) = await store.routing_decisions(source, "e3", subscription_ids=[sub])
    assert (decision.reason, decision.value) == (LeftOutReason.PATTERN, "^ferry")


async def test_an_edit_left_out_is_recorded_as_an_edit(store):
    story, source = await story_of(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, keywords="ferry", now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY), LATER)
    edited = entry(2, "Buses instead.", title="No boats today")
    await poll(store, source, snap(entry(1), edited), DUE)
    (decision,) = await store.routing_decisions(source, "e2", subscription_ids=[sub])
    assert (decision.kind, decision.reason, decision.at) == (
        DeliveryKind.EDITED,
        LeftOutReason.KEYWORDS,
        DUE,
    )


async def test_a_subscription_removed_before_the_poll_is_recorded_gets_no_decision(store):
    story, source = await story_of(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, keywords="x", now=T0)
    await poll(store, source, snap(entry(1)))
    await store.unsubscribe(story, channel_id=10)
    current = await store.get_source(source)
    record = PollRecord(
        source_id=source,
        version=current.version,
        outcome=PollOutcome.NOT_MODIFIED,
        now=LATER,
        next_check=DUE,
        status=StoryStatus.LIVE,
        left_out=(LeftOut(sub, NewEntry(FERRY), LeftOutReason.KEYWORDS, "x"),),
    )
    await store.record_poll(record)  # no error, nothing written
    assert await store.routing_decisions(source, "e2", subscription_ids=[sub]) == []


async def test_the_outbox_rows_of_an_update_stand_as_their_attempts_left_them(store):
    story, source = await story_of(store)
    subs = [
        await store.subscribe(story, guild_id=1, channel_id=channel, now=T0)
        for channel in (10, 11, 12, 13)
    ]
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY), LATER)
    sent, waiting, refused, skipped = await store.pending_deliveries(LATER)
    await store.record_delivery(
        [sent], Sent(501, 10, effects=(Shown(((source, "e2"),)),)), now=LATER
    )
    retry = Retry(FailureReason.DISCORD_ERROR, "Discord answered 503", at=DUE)
    await store.record_delivery([waiting], retry, now=LATER)
    await store.record_delivery([refused], GivenUp(FailureReason.REFUSED, "400"), now=LATER)
    await store.record_delivery([skipped], Sent(note="left out: 40 at once"), now=LATER)
    rows = await store.entry_outbox(source, "e2", subscription_ids=subs)
    assert [(r.subscription_id, r.kind, r.state) for r in rows] == [
        (subs[0], DeliveryKind.NEW, OutboxState.SENT),
        (subs[1], DeliveryKind.NEW, OutboxState.PENDING),
        (subs[2], DeliveryKind.NEW, OutboxState.GIVEN_UP),
        (subs[3], DeliveryKind.NEW, OutboxState.SENT),
    ]
    assert (rows[0].message_id, rows[0].channel_id, rows[0].sent_at) == (501, 10, LATER)
    assert (rows[1].attempts, rows[1].next_attempt, rows[1].last_reason, rows[1].last_error) == (
        1,
        DUE,
        "discord_error",
        "Discord answered 503",
    )
    assert (rows[2].last_reason, rows[2].last_error) == ("refused", "400")
    assert (rows[3].message_id, rows[3].note) == (None, "left out: 40 at once")
    assert await store.entry_outbox(source, "e2", subscription_ids=subs[:1]) == rows[:1]
    assert await store.entry_outbox(source, "e1", subscription_ids=subs) == []


async def test_the_digest_that_showed_an_update_and_the_row_of_its_period(store):
    story, source = await story_of(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, mode="digest", now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY), LATER)
    assert await store.digest_row(sub, after=LATER) is None  # its period is still open
    content = DigestContent(
        since=T0, until=DUE, entries=((source, FERRY),), key_points=None, key_points_changed=False
    )
    assert await store.close_digest(sub, since=T0, until=DUE, content=content, now=DUE)
    row = await store.digest_row(sub, after=LATER)
    assert row is not None
    assert (row.kind, row.state, row.period_end) == (DeliveryKind.DIGEST, OutboxState.PENDING, DUE)
    assert await store.digest_row(sub, after=DUE + timedelta(seconds=1)) is None
    (pending,) = await store.pending_deliveries(DUE)
    shown = Shown(((source, "e2"),), digest=True)
    await store.record_delivery([pending], Sent(777, 10, effects=(shown,)), now=DUE)
    (digest,) = await store.entry_digests(source, "e2", subscription_ids=[sub])
    assert (digest.subscription_id, digest.channel_id, digest.message_id, digest.posted_at) == (
        sub,
        10,
        777,
        DUE,
    )
    assert await store.entry_digests(source, "e2", subscription_ids=[sub + 1]) == []


async def test_the_delivery_history_narrows_to_some_subscriptions(store):
    story, source = await story_of(store)
    news = await store.subscribe(story, guild_id=1, channel_id=10, now=T0)
    await store.subscribe(story, guild_id=1, channel_id=11, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY), LATER)
    for row in await store.pending_deliveries(DUE):
        await store.record_delivery([row], Sent(1, row.channel_id), now=DUE)
    assert len(await store.delivery_history(1, story_id=story)) == 2
    (only,) = await store.delivery_history(1, story_id=story, subscription_ids=[news])
    assert only.subscription_id == news
    assert await store.delivery_history(1, story_id=story, subscription_ids=[]) == []


async def test_routing_decisions_older_than_the_retention_window_are_pruned(store):
    story, source = await story_of(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, keywords="x", now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY), LATER)
    await store.prune(LATER + timedelta(days=29))
    assert len(await store.routing_decisions(source, "e2", subscription_ids=[sub])) == 1
    await store.prune(LATER + timedelta(days=31))
    assert await store.routing_decisions(source, "e2", subscription_ids=[sub]) == []


async def test_many_updates_and_subscriptions_cost_one_small_row_per_update_left_out(store):
    story, source = await story_of(store)
    subs = [
        await store.subscribe(story, guild_id=1, channel_id=100 + n, keywords=f"k{n}", now=T0)
        for n in range(20)
    ]
    await poll(store, source, snap(entry(0)))
    rng = random.Random(3)
    updates = [entry(n, title=f"Update k{rng.randrange(40)}") for n in range(1, 51)]
    await poll(store, source, snap(entry(0), *updates), LATER)
    delivered = await store.pending_deliveries(DUE, limit=2000)
    left_out = 0
    for update in updates:
        left_out += len(await store.routing_decisions(source, update.id, subscription_ids=subs))
    assert len(delivered) + left_out == 50 * 20
    assert delivered  # some of the titles name a subscription's keyword


async def test_a_poll_written_in_a_transaction_of_several_statements_keeps_its_decisions(store):
    # an unchanged page that resumes an auto-paused source: the alert makes the poll a
    # transaction of several statements on PostgreSQL (a changed poll is one statement)
    story, source = await story_of(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, keywords="x", now=T0)
    await poll(store, source, snap(entry(1)))
    current = await store.get_source(source)
    left = LeftOut(sub, NewEntry(replace(FERRY, id="e\x002")), LeftOutReason.KEYWORDS, "x")
    record = PollRecord(
        source_id=source,
        version=current.version,
        outcome=PollOutcome.NOT_MODIFIED,
        now=LATER,
        next_check=DUE,
        status=StoryStatus.LIVE,
        left_out=(left,),
        alert=AlertKind.SOURCE_RESUMED,
    )
    await store.record_poll(record)
    # an id holding U+0000 is found by that id (PostgreSQL keeps it as U+FFFD)
    (decision,) = await store.routing_decisions(source, "e\x002", subscription_ids=[sub])
    assert (decision.subscription_id, decision.reason, decision.value, decision.at) == (
        sub,
        LeftOutReason.KEYWORDS,
        "x",
        LATER,
    )
    assert decision.entry_id in ("e\x002", "e\ufffd2")
    assert [d.kind for d in await store.pending_deliveries(DUE)] == [DeliveryKind.ALERT]
