"""Outbox rows: written with the poll, in order, per mode and keywords; sending and retries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.model import (
    EditedEntry,
    FailureReason,
    KeyPointsChanged,
    NewEntry,
    PauseReason,
    StatusChanged,
    StoryStatus,
)
from bot.outcome import Retry, Sent, Shown
from bot.store import Store
from tests.builders import T0, entry, finish, poll, snap

LATER = T0 + timedelta(minutes=5)
DUE = T0 + timedelta(hours=1)


async def story_with_source(store: Store, name: str = "S", url: str = "https://ex.org/s"):
    story = await store.ensure_story(name, now=T0)
    return story, await store.add_source(story, url, now=T0)


async def test_changes_become_deliveries_in_the_order_made(store, source):
    await poll(store, source, snap(entry(1, "old"), key_points=("a",)))
    changes = await poll(
        store, source, snap(entry(3), entry(2), entry(1, "new"), key_points=("b",)), LATER
    )
    deliveries = await store.pending_deliveries(DUE)
    # the baseline's key points first, then this poll's changes in their order
    assert [d.change for d in deliveries][1:] == list(changes)
    assert [d.kind for d in deliveries] == ["key_points", "edited", "new", "new", "key_points"]


async def test_deliveries_carry_the_target(store):
    story, source = await story_with_source(store)
    await store.subscribe(story, guild_id=7, channel_id=70, mention_role_id=5, now=T0)
    await poll(store, source, snap(entry(1), key_points=("a",)))
    (delivery,) = await store.pending_deliveries(DUE)
    assert (delivery.guild_id, delivery.channel_id, delivery.target) == (7, 70, "discord")
    assert (delivery.mention_role_id, delivery.story_name, delivery.source_url) == (
        5,
        "S",
        "https://ex.org/s",
    )


async def test_outbox_rows_and_entries_commit_together(store, source, monkeypatch):
    await poll(store, source, snap(entry(1)))

    async def crash(*args, **kwargs):
        raise RuntimeError("crash between the entries and the outbox")

    monkeypatch.setattr(type(store), "_write_outbox", crash)
    with pytest.raises(RuntimeError):
        await poll(store, source, snap(entry(1), entry(2)), LATER)
    monkeypatch.undo()
    # nothing of the failed poll was kept: the entry is still new, and queued once
    assert await poll(store, source, snap(entry(1), entry(2)), LATER) == (NewEntry(entry(2)),)
    assert [d.kind for d in await store.pending_deliveries(DUE)] == ["new"]


@pytest.mark.parametrize(
    ("mode", "kinds"),
    [
        ("updates", ["key_points", "edited", "new", "key_points", "status"]),
        ("key-points", ["key_points", "key_points", "status"]),
        ("digest", ["edited"]),  # a correction, if a digest showed it already
    ],
)
async def test_mode_decides_which_changes_are_queued(store, mode, kinds):
    story, source = await story_with_source(store)
    await store.subscribe(story, guild_id=1, channel_id=10, mode=mode, now=T0)
    await poll(store, source, snap(entry(1, "old"), key_points=("a",)))
    await poll(store, source, snap(entry(1, "new"), entry(2), key_points=("b",)), LATER)
    await finish(store, source, now=LATER, next_check=DUE, status=StoryStatus.QUIET)
    assert [d.kind for d in await store.pending_deliveries(DUE)] == kinds


@pytest.mark.parametrize(
    ("keywords", "title", "text", "queued"),
    [
        ("mars", "Rover lands on Mars", "", True),
        ("MARS", "rover lands on mars", "", True),
        ("mars", "Marshall speaks", "about marsupials", False),
        ("space crane", "", "the space\n crane worked", True),
        ("space crane", "", "the space station crane", False),
        ("helicopter, mars", "Ingenuity helicopter", "", True),
        ("c++", "", "written in C++ mostly", True),
        ("a.b", "", "axb", False),
        (" , ", "anything", "", True),
    ],
    ids=[
        "word",
        "case",
        "whole-words-only",
        "phrase-across-whitespace",
        "phrase-needs-adjacent-words",
        "comma-list",
        "literal-punctuation",
        "not-a-regex",
        "blank-list-matches-all",
    ],
)
async def test_keywords_filter_new_updates(store, keywords, title, text, queued):
    story, source = await story_with_source(store)
    await store.subscribe(story, guild_id=1, channel_id=10, keywords=keywords, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), entry(2, text, title=title)), LATER)
    assert bool(await store.pending_deliveries(DUE)) is queued


async def test_keywords_do_not_filter_key_points(store):
    story, source = await story_with_source(store)
    await store.subscribe(story, guild_id=1, channel_id=10, keywords="zebra", now=T0)
    await poll(store, source, snap(entry(1), key_points=("a",)))
    assert [d.kind for d in await store.pending_deliveries(DUE)] == ["key_points"]


async def test_every_story_using_a_shared_source_gets_its_rows(store):
    first, source = await story_with_source(store, "One", "https://ex.org/shared")
    second, same = await story_with_source(store, "Two", "https://ex.org/shared")
    await store.subscribe(first, guild_id=1, channel_id=10, now=T0)
    await store.subscribe(second, guild_id=2, channel_id=20, now=T0)
    await poll(store, source, snap(entry(1), key_points=("a",)))
    assert same == source
    assert sorted(d.channel_id for d in await store.pending_deliveries(DUE)) == [10, 20]


async def test_paused_story_gets_no_rows(store):
    story, source = await story_with_source(store)
    await store.subscribe(story, guild_id=1, channel_id=10, now=T0)
    await store.set_story_paused(story, True, reason=PauseReason.MODERATOR)
    await poll(store, source, snap(entry(1), key_points=("a",)))
    assert await store.pending_deliveries(DUE) == []


async def test_sent_delivery_leaves_the_queue_and_remembers_its_message(store):
    story, source = await story_with_source(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), entry(2)), LATER)
    (delivery,) = await store.pending_deliveries(DUE)
    shown = Shown(((source, "e2"),))
    await store.record_delivery([delivery], Sent(999, 10, effects=(shown,)), now=DUE)
    assert await store.pending_deliveries(DUE) == []
    posted = await store.posted_message(sub, source, "e2")
    message_id, channel_id, posted_at, digest = (
        posted.message_id,
        posted.channel_id,
        posted.posted_at,
        posted.digest,
    )
    assert (message_id, channel_id, posted_at, digest) == (999, 10, DUE, False)


async def test_retry_holds_back_later_deliveries_of_the_same_subscription(store):
    story, source = await story_with_source(store)
    await store.subscribe(story, guild_id=1, channel_id=10, now=T0)
    await store.subscribe(story, guild_id=1, channel_id=11, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), entry(2), entry(3)), LATER)
    first = (await store.pending_deliveries(DUE))[0]
    retry = Retry(FailureReason.DISCORD_ERROR, "HTTP 503", at=DUE + timedelta(minutes=1))
    await store.record_delivery([first], retry, now=DUE)
    waiting = await store.pending_deliveries(DUE)
    assert {d.channel_id for d in waiting} == {11}
    after = await store.pending_deliveries(DUE + timedelta(minutes=1))
    assert [(d.channel_id, d.entry_id) for d in after if d.channel_id == 10] == [
        (10, "e2"),
        (10, "e3"),
    ]


async def test_nonces_are_distinct_stable_and_short(store):
    story, source = await story_with_source(store)
    await store.subscribe(story, guild_id=1, channel_id=10, now=T0)
    await store.subscribe(story, guild_id=1, channel_id=11, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(*(entry(n) for n in range(1, 6))), LATER)
    nonces = [d.nonce for d in await store.pending_deliveries(DUE)]
    assert len(set(nonces)) == len(nonces) == 8
    assert all(len(nonce) <= 25 for nonce in nonces)
    assert [d.nonce for d in await store.pending_deliveries(DUE)] == nonces


async def test_subscribing_again_changes_and_resumes(store):
    story, _ = await story_with_source(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, now=T0)
    await store.pause_subscription(
        sub, reason=PauseReason.NO_PERMISSION, detail="403 Missing Access", now=T0
    )
    again = await store.subscribe(story, guild_id=1, channel_id=10, mode="digest", now=T0)
    (record,) = await store.subscriptions(guild_id=1)
    assert (again, record.mode, record.paused_at) == (sub, "digest", None)


async def test_status_change_is_queued_for_subscribers(store, source):
    await finish(store, source, now=T0, next_check=DUE, status=StoryStatus.ENDED)
    (delivery,) = await store.pending_deliveries(DUE)
    assert delivery.change == StatusChanged(StoryStatus.ENDED, StoryStatus.LIVE)


async def test_edit_delivery_holds_the_previous_words(store, source):
    await poll(store, source, snap(entry(1, "before")))
    await poll(store, source, snap(entry(1, "after")), LATER)
    (delivery,) = await store.pending_deliveries(DUE)
    assert delivery.change == EditedEntry(entry(1, "after"), "Update 1", "before")
    assert delivery.entry_id == "e1"


async def test_key_point_delivery_decodes_to_the_change(store, source):
    await poll(store, source, snap(entry(1), key_points=("a", "b")))
    (delivery,) = await store.pending_deliveries(DUE)
    assert isinstance(delivery.change, KeyPointsChanged)
    assert delivery.change.items == ("a", "b")
