"""One poll through the pipeline: diff before the write, one store call, stale plans made again."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from bot.model import NewEntry, StoryStatus
from bot.polling.pipeline import failure_reason, record_snapshot
from bot.sources.fetch_errors import FetchTimeout, HTTPStatusError
from bot.store import PollOutcome, PollRecord, StalePoll, open_store
from tests.builders import T0, entry, fail, poll, snap


@pytest.fixture
async def followed(tmp_path):
    store = await open_store(tmp_path / "bulletin.db")
    story = await store.ensure_story("Story", now=T0)
    source = await store.add_source(story, "https://example.org/live", now=T0)
    await store.subscribe(story, guild_id=None, channel_id=None, now=T0)
    await poll(store, source, snap(entry(1)))
    yield store, source
    await store.close()


async def test_two_polls_of_one_source_at_once_post_each_update_once(followed):
    store, source = followed
    later = T0 + timedelta(minutes=5)
    both = await asyncio.gather(
        poll(store, source, snap(entry(1), entry(2)), later, seed=1),
        poll(store, source, snap(entry(1), entry(2)), later, seed=2),
    )
    assert sorted(len(changes) for changes in both) == [0, 1]  # the second saw it stored
    rows = await store.pending_deliveries(later + timedelta(hours=1))
    assert [row.change for row in rows] == [NewEntry(entry(2))]


async def test_a_plan_made_from_an_older_state_is_refused_and_writes_nothing(followed):
    store, source = followed
    record = await store.get_source(source)
    stale = PollRecord(
        source_id=source,
        version=record.version,
        outcome=PollOutcome.NOT_MODIFIED,
        now=T0 + timedelta(minutes=1),
        next_check=T0 + timedelta(minutes=2),
        status=StoryStatus.LIVE,
    )
    await poll(store, source, snap(entry(1), entry(2)), T0 + timedelta(minutes=1))
    with pytest.raises(StalePoll):
        await store.record_poll(stale)
    assert (await store.get_source(source)).next_check != stale.next_check


async def test_a_failure_is_recorded_with_its_code_and_words(followed):
    store, source = followed
    await fail(store, source, now=T0 + timedelta(minutes=1), error="HTTP 503 from example.org")
    record = await store.get_source(source)
    assert (record.failures, record.last_error) == (1, "HTTP 503 from example.org")
    assert record.last_error_code is not None


def test_failures_are_coded_by_their_kind():
    assert failure_reason(FetchTimeout("timed out")).value == "timeout"
    assert failure_reason(HTTPStatusError(500, "https://example.org")).value == "http_status"
    assert failure_reason(RuntimeError("a bug")).value == "internal"


async def test_the_first_poll_that_finds_something_stores_its_status_silently(tmp_path):
    store = await open_store(tmp_path / "bulletin.db")
    try:
        story = await store.ensure_story("Story", now=T0)
        source = await store.add_source(story, "https://example.org/live", now=T0)
        await store.subscribe(story, guild_id=None, channel_id=None, now=T0)
        # the page's updates are three days old: the story is over when first seen
        report = await record_snapshot(
            store, source, snap(entry(1)), now=T0 + timedelta(days=3), rng=random.Random(0)
        )
        assert report.status_change == (StoryStatus.LIVE, StoryStatus.ENDED)
        assert (await store.get_source(source)).status is StoryStatus.ENDED
        assert await store.pending_deliveries(T0 + timedelta(days=4)) == []
    finally:
        await store.close()
