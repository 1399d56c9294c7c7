"""What the web window reads (`StatusStore`): every server's stories at once, the outbox's
backlog, key-point versions, the last deliveries, sources by state, and the ping. What a ping
meets on one backend alone (a lock, a server that takes no writes) is tested beside it, in
tests/store/sqlite and tests/store/postgres."""

from __future__ import annotations

from datetime import timedelta

from bot.model import DeliveryOutcome, FailureReason, KeyPointsKind, PauseReason, StoryStatus
from bot.outcome import Retry, Sent
from bot.store import Backlog, SourceStates
from tests.builders import T0, entry, fail, poll, snap

LATER = T0 + timedelta(minutes=5)
DUE = T0 + timedelta(hours=1)


async def story_with_source(store, name, *, guild_id=None, url=None):
    story = await store.ensure_story(name, guild_id=guild_id, now=T0)
    source = await store.add_source(story, url or f"https://ex.org/{name}", now=T0)
    return story, source


async def test_all_stories_are_every_servers_and_the_configs_by_name(store):
    await store.ensure_story("b", guild_id=1, now=T0)
    await store.ensure_story("A", guild_id=2, now=T0)
    await store.ensure_story("c", now=T0)
    assert [(s.name, s.guild_id) for s in await store.all_stories()] == [
        ("A", 2),
        ("b", 1),
        ("c", None),
    ]


async def test_all_story_sources_pair_each_story_with_its_sources_in_order(store):
    one, first = await story_with_source(store, "one")
    second = await store.add_source(one, "https://ex.org/second", now=LATER)
    two = await store.ensure_story("two", guild_id=5, now=T0)
    shared = await store.add_source(two, "https://ex.org/one", now=T0)  # the same URL
    pairs = [(story, source.id) for story, source in await store.all_story_sources()]
    assert pairs == [(one, first), (one, second), (two, shared)]
    assert shared == first


async def test_stories_with_unpolled_sources_are_those_with_a_source_never_polled(store):
    polled, polled_source = await story_with_source(store, "polled")
    half, half_polled = await story_with_source(store, "half")
    await store.add_source(half, "https://ex.org/never", now=LATER)
    fresh, _ = await story_with_source(store, "fresh")
    await store.ensure_story("empty", guild_id=None, now=T0)  # no source: nothing to wait for
    await poll(store, polled_source, snap(entry(1)))
    await poll(store, half_polled, snap(entry(1)))
    assert await store.stories_with_unpolled_sources() == {half, fresh}
    assert polled not in await store.stories_with_unpolled_sources()


async def test_newest_key_points_are_the_current_version_of_each_source(store):
    _, a = await story_with_source(store, "a")
    _, b = await story_with_source(store, "b")
    await poll(store, a, snap(entry(1), key_points=("old",)))
    await poll(store, a, snap(entry(1), key_points=("new", "newer")), LATER)
    await poll(store, b, snap(entry(1)))
    (record,) = await store.newest_key_points()
    assert (record.source_id, record.items, record.kind) == (
        a,
        ("new", "newer"),
        KeyPointsKind.SUMMARY,
    )
    assert record.changed_at == LATER


async def test_newest_entries_are_the_last_seen_few_of_every_source(store):
    _, a = await story_with_source(store, "a")
    _, b = await story_with_source(store, "b")
    await poll(store, a, snap(*(entry(n) for n in range(1, 5))))
    await poll(store, a, snap(*(entry(n) for n in range(1, 7))), LATER)
    await poll(store, b, snap(entry(1)))
    found = await store.newest_entries(per_source=3)
    by_source = {}
    for record in found:
        by_source.setdefault(record.source_id, []).append(record.entry.id)
    assert sorted(by_source[a]) == ["e4", "e5", "e6"]  # e5, e6 of the later poll; then e4
    assert by_source[b] == ["e1"]


async def test_newest_entries_leave_out_sources_no_story_uses(store):
    story, source = await story_with_source(store, "gone")
    await poll(store, source, snap(entry(1)))
    await store.remove_source(story, source)
    assert await store.newest_entries(per_source=5) == []


async def test_key_point_versions_say_what_each_added_and_removed_newest_first(store):
    _, source = await story_with_source(store, "s")
    await poll(store, source, snap(entry(1), key_points=("a", "b")))
    await poll(store, source, snap(entry(1), key_points=("b", "c")), LATER)
    newest, first = await store.key_point_versions(source, limit=10)
    assert (newest.items, newest.added, newest.removed) == (("b", "c"), ("c",), ("a",))
    assert (first.items, first.added, first.removed) == (("a", "b"), ("a", "b"), ())
    assert newest.created_at == LATER
    assert len(await store.key_point_versions(source, limit=1)) == 1


async def test_outbox_backlog_counts_per_server_what_waits_retries_and_is_held(store):
    mine, source = await story_with_source(store, "mine", guild_id=1)
    sub = await store.subscribe(mine, guild_id=1, channel_id=10, now=T0)
    console, other = await story_with_source(store, "console")
    await store.subscribe(console, guild_id=None, channel_id=None, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), entry(2), entry(3)), LATER)
    await poll(store, other, snap(entry(1)))
    await poll(store, other, snap(entry(1), entry(2)), LATER)
    first, *_ = await store.pending_deliveries(DUE, targets=["discord"])
    retry = Retry(FailureReason.DISCORD_ERROR, "503", at=DUE)
    await store.record_delivery([first], retry, now=LATER)
    assert await store.outbox_backlog() == [
        Backlog(guild_id=None, pending=1, retrying=0, held=0, oldest=LATER),
        Backlog(guild_id=1, pending=2, retrying=1, held=0, oldest=LATER),
    ]
    await store.pause_subscription(sub, reason=PauseReason.NO_PERMISSION, detail="403", now=DUE)
    backlog = {b.guild_id: b for b in await store.outbox_backlog()}
    assert backlog[1].held == 2
    assert backlog[1].pending == 3  # and the alert that says so waits too


async def test_an_empty_outbox_has_no_backlog(store):
    assert await store.outbox_backlog() == []


async def test_recent_deliveries_are_every_servers_newest_first_or_one_storys(store):
    ids = {}
    for guild, name in ((1, "a"), (2, "b")):
        story, source = await story_with_source(store, name, guild_id=guild)
        await store.subscribe(story, guild_id=guild, channel_id=guild * 10, now=T0)
        await poll(store, source, snap(entry(1)))
        await poll(store, source, snap(entry(1), entry(2)), LATER)
        ids[name] = story
    rows = await store.pending_deliveries(DUE)
    for at, row in enumerate(rows):
        await store.record_delivery([row], Sent(100 + at, 1), now=DUE + timedelta(seconds=at))
    everyone = await store.recent_deliveries(10)
    assert [a.guild_id for a in everyone] == [2, 1]
    assert all(a.outcome is DeliveryOutcome.SENT for a in everyone)
    (theirs,) = await store.recent_deliveries(10, story_id=ids["a"])
    assert theirs.story_id == ids["a"]
    assert len(await store.recent_deliveries(1)) == 1


async def test_source_states_group_sources_by_status_failures_and_pauses(store):
    _, live = await story_with_source(store, "live")
    _, failing = await story_with_source(store, "failing")
    _, auto = await story_with_source(store, "auto")
    paused_story, held = await story_with_source(store, "held")
    await fail(store, failing)
    await fail(store, auto, pause_after=1)
    await store.set_story_paused(paused_story, True, now=T0)
    unused, _ = await story_with_source(store, "unused")
    await store.delete_story(unused)
    groups = await store.source_states()
    assert sum(g.count for g in groups) == 4  # the source no story uses is not counted
    assert SourceStates(StoryStatus.LIVE, False, False, False, 1) in groups  # live
    assert SourceStates(StoryStatus.LIVE, True, False, False, 1) in groups  # failing
    assert SourceStates(StoryStatus.LIVE, True, True, False, 1) in groups  # auto-paused
    assert SourceStates(StoryStatus.LIVE, False, False, True, 1) in groups  # story paused
    assert live and held


async def test_ping_answers_and_waits_out_no_lock(store):
    await store.ping()
    # the store still writes afterwards: the ping left no transaction open
    await store.ensure_story("after the ping", now=T0)
