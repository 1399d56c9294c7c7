"""Recording polls: baseline, new, edits, key points, restarts, fetch state."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.model import (
    EditedEntry,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    StatusChanged,
    StoryStatus,
)
from bot.store import open_store
from tests.builders import T0, answer, entry, fail, finish, poll, snap

LATER = T0 + timedelta(minutes=5)


async def test_first_poll_is_a_baseline_with_only_key_points(store, source):
    changes = await poll(store, source, snap(entry(1), entry(2), key_points=("a",)))
    assert changes == (KeyPointsChanged(KeyPointsKind.SUMMARY, ("a",), (), ("a",)),)
    assert (await store.get_source(source)).baseline_at == T0


async def test_empty_first_poll_leaves_the_baseline_for_later(store, source):
    await poll(store, source, snap())
    assert (await store.get_source(source)).baseline_at is None
    assert await poll(store, source, snap(entry(1)), LATER) == ()


async def test_baseline_takes_the_newest_update_time_as_the_last_update(store, source):
    await poll(store, source, snap(entry(1), entry(2)), LATER)
    assert (await store.get_source(source)).last_update_at == T0 + timedelta(minutes=2)


async def test_a_future_update_time_counts_as_now_not_as_the_future(store, source):
    future = replace(entry(1), published=T0 + timedelta(days=365 * 50))
    await poll(store, source, snap(future))
    assert (await store.get_source(source)).last_update_at == T0


async def test_entry_after_the_baseline_is_new(store, source):
    await poll(store, source, snap(entry(1)))
    assert await poll(store, source, snap(entry(1), entry(2)), LATER) == (NewEntry(entry(2)),)


async def test_restart_between_polls_loses_nothing(store_target):
    store = await open_store(store_target)
    story = await store.ensure_story("S")
    source = await store.add_source(story, "https://example.org/r")
    await poll(store, source, snap(entry(1, "before"), key_points=("a",)))
    await store.close()

    store = await open_store(store_target)
    try:
        changes = await poll(store, source, snap(entry(1, "after"), entry(2), key_points=("a",)))
        assert changes == (EditedEntry(entry(1, "after"), "Update 1", "before"), NewEntry(entry(2)))
    finally:
        await store.close()


async def test_edit_keeps_the_words_first_posted(store, source):
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), entry(2, "first")), LATER)
    await poll(store, source, snap(entry(1), entry(2, "second")), LATER + timedelta(minutes=1))
    await poll(store, source, snap(entry(1), entry(2, "third")), LATER + timedelta(minutes=2))
    stored = await store.get_entry(source, "e2")
    assert (stored.entry.text, stored.first_text, stored.posted) == ("third", "first", True)
    assert stored.edited_at == LATER + timedelta(minutes=2)


async def test_whitespace_only_change_is_stored_but_not_announced(store, source):
    await poll(store, source, snap(entry(1, "a  b")))
    assert await poll(store, source, snap(entry(1, "a b")), LATER) == ()
    stored = await store.get_entry(source, "e1")
    assert (stored.entry.text, stored.edited_at) == ("a b", None)


async def test_key_point_versions_are_kept_with_their_time(store, source):
    story = (await store.stories_for_guild(None))[0].id
    await poll(store, source, snap(entry(1), key_points=("a", "b")))
    changes = await poll(store, source, snap(entry(1), key_points=("b", "c")), LATER)
    assert changes == (KeyPointsChanged(KeyPointsKind.SUMMARY, ("c",), ("a",), ("b", "c")),)
    (current,) = await store.current_key_points(story)
    assert (current.items, current.changed_at) == (("b", "c"), LATER)


async def test_poll_records_fetch_metadata(store, source):
    await poll(
        store,
        source,
        snap(entry(1)),
        now=T0,
        etag='"v1"',
        last_modified="Fri, 01 Mar 2024",
        body_hash="h",
    )
    record = await store.get_source(source)
    assert (record.etag, record.last_modified, record.body_hash) == (
        '"v1"',
        "Fri, 01 Mar 2024",
        "h",
    )
    assert (record.last_polled, record.title) == (T0, "A live story")


async def test_something_new_sets_last_update(store, source):
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), entry(2)), LATER)
    assert (await store.get_source(source)).last_update_at == LATER


async def test_failures_pause_the_source_at_the_threshold(store, source):
    for attempt in range(3):
        record = await fail(
            store, source, now=T0 + timedelta(minutes=attempt), error="HTTP 500", pause_after=3
        )
    assert (record.failures, record.auto_paused, record.auto_pause_reason) == (3, True, "HTTP 500")


async def test_failures_below_the_threshold_do_not_pause(store, source):
    record = await fail(store, source, now=T0, error="timeout", pause_after=3)
    assert (record.failures, record.auto_paused, record.last_error) == (1, False, "timeout")


async def test_successful_poll_resets_failures_and_resumes(store, source):
    await fail(store, source, now=T0, error="HTTP 500", pause_after=1)
    await poll(store, source, snap(entry(1)), LATER)
    record = await store.get_source(source)
    assert (record.failures, record.auto_paused, record.last_error) == (0, False, None)


async def test_not_modified_resets_failures(store, source):
    await fail(store, source, now=T0, error="HTTP 500", pause_after=1)
    await answer(store, source, now=LATER)
    record = await store.get_source(source)
    assert (record.failures, record.auto_paused, record.last_polled) == (0, False, LATER)


async def test_failed_poll_changes_no_entry_state(store, source):
    await poll(store, source, snap(entry(1)))
    await fail(store, source, now=LATER, error="HTTP 500", pause_after=10)
    assert await poll(store, source, snap(entry(1), entry(2)), LATER) == (NewEntry(entry(2)),)


async def test_finish_poll_schedules_the_next_check(store, source):
    await finish(store, source, now=T0, next_check=LATER)
    assert (await store.get_source(source)).next_check == LATER


async def test_new_status_is_a_change(store, source):
    change = await finish(store, source, now=T0, next_check=LATER, status=StoryStatus.ENDED)
    assert change == StatusChanged(StoryStatus.ENDED, StoryStatus.LIVE)
    assert (await store.get_source(source)).status is StoryStatus.ENDED


async def test_same_status_is_no_change(store, source):
    assert await finish(store, source, now=T0, next_check=LATER, status=StoryStatus.LIVE) is None


async def test_latest_entries_are_newest_first(store, source):
    story = (await store.stories_for_guild(None))[0].id
    await poll(store, source, snap(entry(1), entry(3), entry(2)))
    assert [r.entry.id for r in await store.latest_entries(story, 2)] == ["e3", "e2"]


async def test_an_update_holding_a_nul_is_new_once_and_never_again_even_after_pruning(
    store, source
):
    # PostgreSQL cannot keep U+0000 in text: it keeps U+FFFD, and still knows the update
    nul = replace(entry(1), id="e\x001", title="A\x00title", text="Te\x00xt")
    await poll(store, source, snap(entry(0)))
    assert await poll(store, source, snap(entry(0), nul), LATER) == (NewEntry(nul),)
    assert await poll(store, source, snap(entry(0), nul), LATER + timedelta(minutes=1)) == ()
    edited = replace(nul, text="Te\x00xt, corrected")
    changes = await poll(store, source, snap(edited), LATER + timedelta(minutes=2))
    assert [type(c) for c in changes] == [EditedEntry]
    later = LATER + timedelta(days=60)
    assert await store.prune(later, retention=timedelta(days=30)) == 2
    assert await poll(store, source, snap(edited), later) == ()
