"""Stories and sources: one source per URL, shortest interval, per-server isolation."""

from __future__ import annotations

from datetime import timedelta

from tests.builders import T0, finish

SOON = T0 + timedelta(seconds=1)


async def test_same_url_in_two_servers_is_one_source_polled_once(store):
    one = await store.ensure_story("Mars", guild_id=1, now=T0)
    two = await store.ensure_story("Mars", guild_id=2, now=T0)
    first = await store.add_source(one, "https://ex.org/mars", interval=300, now=T0)
    second = await store.add_source(two, "https://ex.org/mars", interval=60, now=T0)
    assert first == second
    assert [s.id for s in await store.due_sources(SOON, 10)] == [first]


async def test_shared_source_is_polled_at_the_shortest_interval(store):
    one = await store.ensure_story("A", guild_id=1, now=T0)
    two = await store.ensure_story("B", guild_id=2, now=T0)
    source = await store.add_source(one, "https://ex.org/x", interval=300, now=T0)
    await store.add_source(two, "https://ex.org/x", interval=45, now=T0)
    assert (await store.get_source(source)).interval == 45
    await store.remove_source(two, source)
    assert (await store.get_source(source)).interval == 300


async def test_stories_of_a_server_are_invisible_to_another(store):
    await store.ensure_story("Mine", guild_id=1, now=T0)
    await store.ensure_story("Theirs", guild_id=2, now=T0)
    await store.ensure_story("Config", now=T0)
    assert [s.name for s in await store.stories_for_guild(1)] == ["Config", "Mine"]


async def test_story_names_are_unique_per_server(store):
    first = await store.ensure_story("Mars", guild_id=1, now=T0)
    assert await store.ensure_story("mars", guild_id=1, now=T0) == first
    assert await store.ensure_story("Mars", guild_id=2, now=T0) != first


async def test_source_is_not_due_before_its_next_check(store):
    story = await store.ensure_story("A", now=T0)
    source = await store.add_source(story, "https://ex.org/a", now=T0)
    await finish(store, source, now=T0, next_check=T0 + timedelta(minutes=1))
    assert await store.due_sources(SOON, 10) == []
    assert len(await store.due_sources(T0 + timedelta(minutes=1), 10)) == 1


async def test_due_sources_go_on_after_the_last_one_read_in_due_order(store):
    story = await store.ensure_story("A", now=T0)
    ids = [await store.add_source(story, f"https://ex.org/{n}", now=T0) for n in range(5)]
    # two share a next check: the id breaks the tie
    for source, minutes in zip(ids, (3, 1, 2, 2, 4), strict=True):
        await finish(store, source, now=T0, next_check=T0 + timedelta(minutes=minutes))
    now = T0 + timedelta(minutes=3)
    first = await store.due_sources(now, 2)
    assert [s.id for s in first] == [ids[1], ids[2]]
    rest = await store.due_sources(now, 10, after=(first[-1].next_check, first[-1].id))
    assert [s.id for s in rest] == [ids[3], ids[0]]  # not yet due: ids[4]
    assert await store.due_sources(now, 10, after=(rest[-1].next_check, rest[-1].id)) == []


async def test_pause_in_one_server_leaves_the_other_polling(store):
    one = await store.ensure_story("A", guild_id=1, now=T0)
    two = await store.ensure_story("B", guild_id=2, now=T0)
    await store.add_source(one, "https://ex.org/p", now=T0)
    await store.add_source(two, "https://ex.org/p", now=T0)
    await store.set_story_paused(one, True)
    assert len(await store.due_sources(SOON, 10)) == 1
    await store.set_story_paused(two, True)
    assert await store.due_sources(SOON, 10) == []


async def test_source_of_a_server_that_left_is_not_polled(store):
    story = await store.ensure_story("A", guild_id=1, now=T0)
    await store.add_source(story, "https://ex.org/l", now=T0)
    await store.guild_left(1, now=T0)
    assert await store.due_sources(SOON, 10) == []


async def test_kind_and_selectors_are_kept(store):
    from bot.model import SourceKind

    story = await store.ensure_story("A", now=T0)
    source = await store.add_source(
        story, "https://ex.org/k", kind=SourceKind.PAGE, selectors={"key_points": "ul li"}, now=T0
    )
    record = await store.get_source(source)
    assert (record.kind, record.selectors) == (SourceKind.PAGE, {"key_points": "ul li"})
