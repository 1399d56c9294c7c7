"""The outbox to Discord end to end: store.apply_poll → DiscordSink → the fake Discord."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.model import DeliveryKind, DeliveryOutcome, PauseReason, StoryStatus
from bot.services.subscriptions import queue_backfill
from tests.builders import fail, finish
from tests.delivery.conftest import T0, entry, snap
from tests.fakes.discord import Perm


def titles(server, channel_id: int) -> list[str]:
    return [e["title"] for m in server.messages_in(channel_id) for e in m["embeds"]]


async def test_a_growing_source_arrives_in_order_once(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    await source.poll(snap(entry(0), entry(2), entry(1)))  # listed out of order
    await dispatcher.drain()
    clock.advance(minutes=1)
    await source.poll(snap(entry(0), entry(1), entry(2), entry(3)))
    await dispatcher.drain()
    await dispatcher.drain()  # nothing left: nothing again
    assert titles(discord_server, guild.system_channel_id) == ["Update 1", "Update 2", "Update 3"]
    assert await store.pending_deliveries(clock(), limit=10) == []


async def test_sent_rows_carry_the_message_id(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    message = discord_server.messages_in(guild.system_channel_id)[0]
    posted = await store.posted_message(source.ids.subscription_id, source.ids.source_id, "e1")
    assert posted is not None and posted.message_id == int(message["id"])


async def test_every_send_carries_a_nonce_enforced(discord_server, guild, dispatcher, follow):
    source = await follow()
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    (record,) = discord_server.records_in(guild.system_channel_id, "create")
    assert record.request["enforce_nonce"] is True
    assert len(record.request["nonce"]) <= 25


@pytest.mark.parametrize(
    ("new", "embeds_per_message", "note"),
    [
        (3, [3], ""),
        (12, [10, 2], ""),
        (35, [10, 10, 10], "and 5 more — /latest"),
    ],
)
async def test_pending_updates_are_batched_per_channel(
    discord_server, guild, dispatcher, follow, new, embeds_per_message, note
):
    source = await follow()
    await source.poll(snap(*(entry(n) for n in range(new + 1))))
    await dispatcher.drain()
    messages = discord_server.messages_in(guild.system_channel_id)
    assert [len(m["embeds"]) for m in messages] == embeds_per_message
    assert messages[-1]["content"] == note
    assert titles(discord_server, guild.system_channel_id)[-1] == f"Update {new}"


async def test_key_points_mode_posts_only_key_point_changes(
    discord_server, guild, dispatcher, follow
):
    source = await follow(mode="key-points", baseline=snap(entry(0), key_points=("One",)))
    await dispatcher.drain()  # the baseline's key points
    await source.poll(snap(entry(0), entry(1), key_points=("One", "Two")))
    await dispatcher.drain()
    _, message = discord_server.messages_in(guild.system_channel_id)
    assert "updated" in message["embeds"][0]["title"]
    assert "Two" in message["embeds"][0]["description"]


async def test_keywords_let_through_only_matching_updates(
    discord_server, guild, dispatcher, follow
):
    source = await follow(keywords="turnout")
    await source.poll(
        snap(entry(0), entry(1, "Turnout is high."), entry(2, "Nothing to see."), entry(3))
    )
    await dispatcher.drain()
    assert titles(discord_server, guild.system_channel_id) == ["Update 1"]


async def test_a_keyword_match_pings_only_the_role(discord_server, guild, dispatcher, follow):
    role = discord_server.add_role(guild, "news")
    source = await follow(keywords="turnout", mention_role_id=role.id)
    await source.poll(snap(entry(0), entry(1, "Turnout is @everyone high.")))
    await dispatcher.drain()
    (record,) = discord_server.records_in(guild.system_channel_id, "create")
    assert record.request["content"].startswith(f"<@&{role.id}>")
    assert record.request["allowed_mentions"] == {"parse": [], "roles": [str(role.id)]}


async def test_plain_updates_do_not_ping(discord_server, guild, dispatcher, follow):
    role = discord_server.add_role(guild, "news")
    source = await follow(mention_role_id=role.id)
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    (record,) = discord_server.records_in(guild.system_channel_id, "create")
    assert record.request["allowed_mentions"]["parse"] == []
    assert not record.request["allowed_mentions"].get("roles")
    assert not record.request.get("content")


async def test_a_key_point_change_pings_the_role(discord_server, guild, dispatcher, follow):
    role = discord_server.add_role(guild, "news")
    source = await follow(mention_role_id=role.id, baseline=snap(entry(0), key_points=("A",)))
    await source.poll(snap(entry(0), key_points=("A", "B")))
    await dispatcher.drain()
    record = discord_server.records_in(guild.system_channel_id, "create")[-1]
    assert record.request["allowed_mentions"]["roles"] == [str(role.id)]


async def test_an_edit_is_applied_in_place_marked_updated(
    discord_server, guild, dispatcher, follow, clock
):
    source = await follow()
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    clock.advance(minutes=5)
    await source.poll(snap(entry(0), entry(1, "Corrected text of update 1.")))
    await dispatcher.drain()
    (message,) = discord_server.messages_in(guild.system_channel_id)
    assert message["edited_timestamp"] is not None
    assert "Corrected text" in message["embeds"][0]["description"]
    assert message["embeds"][0]["footer"]["text"].startswith("Updated")


async def test_a_second_edit_within_a_minute_waits_then_applies(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    clock.advance(minutes=5)
    await source.poll(snap(entry(0), entry(1, "First fix.")))
    await dispatcher.drain()
    clock.advance(seconds=10)
    await source.poll(snap(entry(0), entry(1, "Second fix."), entry(2)))
    await dispatcher.drain()
    first = discord_server.messages_in(guild.system_channel_id)[0]
    assert "First fix." in first["embeds"][0]["description"]
    assert titles(discord_server, guild.system_channel_id) == ["Update 1", "Update 2"]
    clock.advance(minutes=1)
    await dispatcher.drain()
    first = discord_server.messages_in(guild.system_channel_id)[0]
    assert "Second fix." in first["embeds"][0]["description"]
    assert len(discord_server.records_in(guild.system_channel_id, "edit")) == 2


async def test_an_edit_of_a_day_old_message_becomes_a_correction(
    discord_server, guild, dispatcher, follow, clock
):
    source = await follow()
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    clock.advance(days=1, minutes=1)
    await source.poll(snap(entry(0), entry(1, "Corrected text.")))
    await dispatcher.drain()
    original, correction = discord_server.messages_in(guild.system_channel_id)
    assert original["edited_timestamp"] is None
    assert correction["embeds"][0]["title"].startswith("Correction:")
    assert original["id"] in correction["embeds"][0]["description"]


async def test_thread_mode_puts_updates_in_one_thread_with_key_points_on_top(
    discord_server, guild, dispatcher, follow, clock
):
    source = await follow(thread=True, baseline=snap(entry(0), key_points=("A",)))
    await source.poll(snap(entry(0), entry(1), key_points=("A",)))
    await dispatcher.drain()
    clock.advance(minutes=1)
    await source.poll(snap(entry(0), entry(1), entry(2), key_points=("A", "B")))
    await dispatcher.drain()
    (starter,) = discord_server.messages_in(guild.system_channel_id)
    thread_id = int(starter["thread"]["id"])
    updates = [t for t in titles(discord_server, thread_id) if t.startswith("Update")]
    assert updates == ["Update 1", "Update 2"]
    assert starter["edited_timestamp"] is not None
    assert "B" in starter["embeds"][0]["description"]


async def test_a_threads_starter_is_an_outbox_row_sent_before_what_goes_into_the_thread(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow(thread=True, baseline=snap(entry(0), key_points=("A",)))
    await source.poll(snap(entry(0), entry(1), key_points=("A",)))
    await dispatcher.drain()
    history = list(reversed(await store.delivery_history(guild.id)))
    assert [(a.kind, a.outcome) for a in history] == [
        (DeliveryKind.STARTER, DeliveryOutcome.SENT),
        (DeliveryKind.KEY_POINTS, DeliveryOutcome.SENT),
        (DeliveryKind.NEW, DeliveryOutcome.SENT),
    ]
    (starter,) = discord_server.messages_in(guild.system_channel_id)
    assert history[0].message_id == int(starter["id"])
    (sub,) = await store.subscriptions(guild_id=guild.id)
    assert sub.starter_message_id == int(starter["id"])
    assert {a.channel_id for a in history[1:]} == {sub.thread_id}


async def test_coverage_ended_is_said_once(discord_server, guild, store, dispatcher, follow, clock):
    source = await follow()
    other = await store.add_source(source.ids.story_id, "https://other.example/live", now=T0)
    for source_id in (source.ids.source_id, other):
        await finish(store, source_id, now=clock(), next_check=clock(), status=StoryStatus.ENDED)
    await dispatcher.drain()
    (message,) = discord_server.messages_in(guild.system_channel_id)
    assert message["embeds"][0]["title"].startswith("Coverage ended")


async def test_a_quiet_spell_is_not_announced(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    await finish(
        store, source.ids.source_id, now=clock(), next_check=clock(), status=StoryStatus.QUIET
    )
    await dispatcher.drain()
    assert discord_server.messages_in(guild.system_channel_id) == []


async def test_backfill_posts_the_last_updates_oldest_first(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow(baseline=snap(*(entry(n) for n in range(5))))
    assert await queue_backfill(store, source.ids.subscription_id, 2, now=clock()) == 2
    await dispatcher.drain()
    assert titles(discord_server, guild.system_channel_id) == ["Update 3", "Update 4"]


async def test_a_deleted_channel_pauses_and_alerts_once(
    discord_server, guild, store, dispatcher, follow, clock
):
    news = discord_server.add_channel(guild, "news")
    source = await follow(news.id)
    await discord_server.delete_channel(news)
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    clock.advance(minutes=1)
    await source.poll(snap(entry(0), entry(1), entry(2)))
    await dispatcher.drain()
    (sub,) = await store.subscriptions(guild_id=guild.id)
    # stored as a code, with Discord's words beside it; the sentence is rendered from them
    assert sub.paused_at is not None and "404" in (sub.pause_detail or "")
    assert sub.pause_reason is PauseReason.CHANNEL_GONE
    (alert,) = discord_server.messages_in(guild.system_channel_id)
    assert f"<#{news.id}>: the channel was deleted" in alert["content"]
    assert "`/unsubscribe story:Election night` (without a channel)" in alert["content"]
    assert "permission" not in alert["content"]  # nothing to grant: it is gone


async def test_removed_permissions_pause_and_resubscribing_resumes(
    discord_server, guild, store, dispatcher, follow, clock
):
    news = discord_server.add_channel(guild, "news")
    source = await follow(news.id)
    await discord_server.set_overwrite(
        news, discord_server.bot_role(guild), deny=Perm.SEND_MESSAGES
    )
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    (sub,) = await store.subscriptions(guild_id=guild.id)
    assert "403" in (sub.pause_detail or "")
    (alert,) = discord_server.messages_in(guild.system_channel_id)
    assert "Bulletin may no longer post there" in alert["content"]
    assert "Give Bulletin View Channel, Send Messages and Embed Links there" in alert["content"]
    assert "`/subscribe` there again to resume" in alert["content"]
    await discord_server.set_overwrite(news, discord_server.bot_role(guild))
    await store.subscribe(source.ids.story_id, guild_id=guild.id, channel_id=news.id)
    await dispatcher.drain()
    assert titles(discord_server, news.id) == ["Update 1"]


async def test_a_5xx_storm_is_retried_with_nothing_lost(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    discord_server.inject("POST", "/channels/*/messages", status=503, times=3)
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    clock.advance(seconds=30)
    await source.poll(snap(entry(0), entry(1), entry(2)))
    for _ in range(4):
        await dispatcher.drain()
        clock.advance(minutes=1)
    assert titles(discord_server, guild.system_channel_id) == ["Update 1", "Update 2"]
    assert await store.pending_deliveries(clock() + timedelta(hours=1)) == []


async def test_a_dropped_gateway_does_not_stop_delivery(
    discord_server, guild, store, start_bot, follow, clock
):
    from bot.delivery.discord_sink import DiscordSink
    from bot.delivery.dispatcher import Dispatcher
    from bot.delivery.limiter import RateLimiter

    bot = await start_bot()
    sink = DiscordSink(bot, store, limiter=RateLimiter(100), clock=clock)
    dispatcher = Dispatcher(store, {"discord": sink}, clock=clock)
    source = await follow()
    await source.poll(snap(entry(0), entry(1)))
    await discord_server.drop_gateway()
    await dispatcher.drain()
    clock.advance(minutes=1)
    await source.poll(snap(entry(0), entry(1), entry(2)))
    await dispatcher.drain()
    assert titles(discord_server, guild.system_channel_id) == ["Update 1", "Update 2"]


async def test_the_dispatcher_hands_discord_rows_and_alerts_to_the_sink(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    await source.poll(snap(entry(0), entry(1), entry(2)))
    await fail(store, source.ids.source_id, now=clock(), error="HTTP 500", pause_after=1)
    await dispatcher.drain()
    messages = discord_server.messages_in(guild.system_channel_id)
    alert, updates = messages  # the dispatcher sends alerts first
    assert alert["content"].startswith("source paused: https://news.example/live")
    assert [e["title"] for e in updates["embeds"]] == ["Update 1", "Update 2"]


async def test_an_edit_in_a_batched_message_keeps_the_other_updates_and_the_note(
    discord_server, guild, dispatcher, follow, clock
):
    source = await follow()
    await source.poll(snap(*(entry(n) for n in range(35))))  # 34 new: 30 kept, "and 4 more"
    await dispatcher.drain()
    last = discord_server.messages_in(guild.system_channel_id)[-1]
    before = [e["title"] for e in last["embeds"]]
    assert last["content"] == "and 4 more — /latest"
    clock.advance(minutes=5)
    edited = [entry(n) for n in range(35)]
    edited[30] = entry(30, "Corrected text of update 30.")
    await source.poll(snap(*edited))
    await dispatcher.drain()
    last = discord_server.messages_in(guild.system_channel_id)[-1]
    assert [e["title"] for e in last["embeds"]] == before
    assert last["content"] == "and 4 more — /latest"
    (fixed,) = [e for e in last["embeds"] if e["title"] == "Update 30"]
    assert "Corrected text" in fixed["description"]
    assert fixed["footer"]["text"].startswith("Updated")
    others = [e for e in last["embeds"] if e["title"] != "Update 30"]
    assert all(not e["footer"]["text"].startswith("Updated") for e in others)


async def test_edits_of_two_updates_in_one_message_are_one_a_minute(
    discord_server, guild, dispatcher, follow, clock
):
    source = await follow()
    await source.poll(snap(entry(0), entry(1), entry(2)))  # one message, two updates
    await dispatcher.drain()
    clock.advance(minutes=5)
    await source.poll(snap(entry(0), entry(1, "First fix."), entry(2)))
    await dispatcher.drain()
    clock.advance(seconds=10)
    await source.poll(snap(entry(0), entry(1, "First fix."), entry(2, "Second fix.")))
    await dispatcher.drain()
    assert len(discord_server.records_in(guild.system_channel_id, "edit")) == 1
    clock.advance(minutes=1)
    await dispatcher.drain()
    (message,) = discord_server.messages_in(guild.system_channel_id)
    assert len(discord_server.records_in(guild.system_channel_id, "edit")) == 2
    one, two = message["embeds"]
    assert "First fix." in one["description"] and "Second fix." in two["description"]
    assert one["footer"]["text"].startswith("Updated") and two["footer"]["text"].startswith(
        "Updated"
    )


async def test_a_backfill_of_keyword_matches_does_not_ping(
    discord_server, guild, store, dispatcher, follow, clock
):
    role = discord_server.add_role(guild, "news")
    baseline = snap(entry(0), entry(1, "Turnout is high."), entry(2, "Turnout is low."), entry(3))
    source = await follow(keywords="turnout", mention_role_id=role.id, baseline=baseline)
    assert await queue_backfill(store, source.ids.subscription_id, 5, now=clock()) == 2
    await dispatcher.drain()
    (record,) = discord_server.records_in(guild.system_channel_id, "create")
    assert [e["title"] for e in record.request["embeds"]] == ["Update 1", "Update 2"]
    assert not record.request.get("content")
    assert record.request["allowed_mentions"] == {"parse": []}


def threads_of(server, channel_id: int) -> list[int]:
    """The threads started from the bot's messages in the channel (their starter messages)."""
    return [int(m["thread"]["id"]) for m in server.messages_in(channel_id) if m.get("thread")]


async def test_an_archived_thread_is_posted_to_again(
    discord_server, guild, dispatcher, follow, clock
):
    source = await follow(thread=True, baseline=snap(entry(0), key_points=("A",)))
    await source.poll(snap(entry(0), entry(1), key_points=("A",)))
    await dispatcher.drain()
    (thread_id,) = threads_of(discord_server, guild.system_channel_id)
    await discord_server.archive_thread(discord_server.channels[thread_id])  # a quiet week
    clock.advance(days=8)
    await source.poll(snap(entry(0), entry(1), entry(2), key_points=("A",)))
    await dispatcher.drain()
    assert threads_of(discord_server, guild.system_channel_id) == [thread_id]
    assert titles(discord_server, thread_id)[-1] == "Update 2"
    assert not discord_server.channels[thread_id].archived


@pytest.mark.parametrize("lose", ["deleted", "locked"])
async def test_a_lost_thread_is_replaced_not_paused(
    discord_server, guild, store, dispatcher, follow, clock, lose
):
    source = await follow(thread=True, baseline=snap(entry(0), key_points=("A",)))
    await source.poll(snap(entry(0), entry(1), key_points=("A",)))
    await dispatcher.drain()
    (old,) = threads_of(discord_server, guild.system_channel_id)
    if lose == "deleted":
        await discord_server.delete_channel(discord_server.channels[old])
    else:
        await discord_server.archive_thread(discord_server.channels[old], locked=True)
    clock.advance(minutes=5)
    await source.poll(snap(entry(0), entry(1), entry(2), key_points=("A", "B")))
    await dispatcher.drain()
    (sub,) = await store.subscriptions(guild_id=guild.id)
    assert sub.paused_at is None
    old_starter, new_starter = discord_server.messages_in(guild.system_channel_id)
    new = int(new_starter["thread"]["id"])
    assert int(old_starter["thread"]["id"]) == old
    assert new != old and sub.thread_id == new and sub.starter_message_id == new
    assert "B" in new_starter["embeds"][0]["description"]  # the key points as they are now
    assert [t for t in titles(discord_server, new) if t.startswith("Update")] == ["Update 2"]
    assert await store.pending_deliveries(clock() + timedelta(hours=1)) == []


async def test_rows_refused_by_a_403_are_not_taken_for_in_flight_ones_later(
    discord_server, guild, store, dispatcher, follow, clock, caplog
):
    news = discord_server.add_channel(guild, "news")
    source = await follow(news.id, baseline=snap(entry(0), key_points=("A",)))
    await discord_server.set_overwrite(
        news, discord_server.bot_role(guild), deny=Perm.SEND_MESSAGES
    )
    await source.poll(snap(entry(0), entry(1), entry(2), key_points=("A", "B")))
    await dispatcher.drain()
    clock.advance(hours=3)  # long past Discord's nonce window
    await discord_server.set_overwrite(news, discord_server.bot_role(guild))
    await store.subscribe(source.ids.story_id, guild_id=guild.id, channel_id=news.id)
    caplog.set_level(logging.INFO, logger="bot.delivery.discord_sink")
    await dispatcher.drain()
    posted = titles(discord_server, news.id)
    assert [t for t in posted if t.startswith("Update")] == ["Update 1", "Update 2"]
    assert len(posted) == 4  # and the two key-point changes (the first list, then B added)
    assert not any("resending" in r.getMessage() for r in caplog.records)


async def test_prune_forgets_what_old_messages_showed_but_keeps_recent_ones(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    clock.advance(days=20)
    await source.poll(snap(entry(0), entry(1), entry(2)))
    await dispatcher.drain()
    ids = source.ids
    await store.prune(clock() + timedelta(days=15))  # 35 and 15 days on: the window is 30
    assert await store.posted_message(ids.subscription_id, ids.source_id, "e1") is None
    assert await store.posted_message(ids.subscription_id, ids.source_id, "e2") is not None
