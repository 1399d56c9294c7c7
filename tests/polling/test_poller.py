"""The poll cycle against a real SQLite file and a live-source server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config, DatabaseConfig, PollingConfig
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.sinks import ConsoleSink
from bot.model import KeyPointsChanged, NewEntry, StatusChanged, StoryStatus
from bot.polling import Poller
from bot.polling import pipeline as poller_module
from bot.runtime import Runtime
from bot.schedule import PROBE_INTERVAL
from bot.sources.fetch import Fetcher, open_session
from bot.store import Store, open_store
from tests.fakes.source_server import SourceServer
from tests.livepage import BASE, live_page, update

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Harness:
    server: SourceServer
    store: Store
    runtime: Runtime
    poller: Poller
    clock: Clock

    async def add(self, path: str, *, interval: int = 60, story: str = "Harbour") -> int:
        story_id = await self.store.ensure_story(story, now=self.clock.now)
        source_id = await self.store.add_source(
            story_id, self.server.url(path), interval=interval, now=self.clock.now
        )
        await self.store.subscribe(story_id, guild_id=None, channel_id=None, now=self.clock.now)
        return source_id

    async def poll(self) -> int:
        """One pick of due sources, and wait until those polls are done."""
        started = await self.poller.run_once()
        await asyncio.wait_for(self.poller.wait_idle(), 10)
        return started

    async def poll_when_due(self, source_id: int) -> None:
        """Move the clock to the source's next check and poll."""
        source = await self.store.get_source(source_id)
        self.clock.now = max(self.clock.now, source.next_check)
        assert await self.poll() >= 1

    async def changes(self) -> list:
        pending = await self.store.pending_deliveries(self.clock.now + timedelta(days=2))
        return [d.change for d in pending]


async def until_polled(store: Store, source_id: int, within: float) -> None:
    async def polled() -> None:
        # a database row has no event to wait on: look again every few milliseconds
        while (await store.get_source(source_id)).last_polled is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    await asyncio.wait_for(polled(), within)


def settings(server: SourceServer, **changes: object) -> PollingConfig:
    values: dict[str, object] = {
        "timeout": 2.0,
        "max_bytes": 64 * 1024,
        "pause_after_failures": 3,
        "allow_private_addresses": (server.host_port,),
    }
    values.update(changes)
    return PollingConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def server() -> AsyncIterator[SourceServer]:
    async with SourceServer() as running:
        yield running


async def make_harness(
    tmp_path: Path, server: SourceServer, **changes: object
) -> AsyncIterator[Harness]:
    polling = settings(server, **changes)
    config = Config(polling=polling, database=DatabaseConfig(tmp_path / "bulletin.db"))
    store = await open_store(config.database.path)
    session = open_session(polling.fetch_limits())
    clock = Clock(T0)
    runtime = Runtime(
        config, store, Fetcher(session, polling.fetch_limits()), AsyncIOScheduler(timezone=UTC)
    )
    poller = Poller(runtime, rng=random.Random(7), clock=clock)
    try:
        yield Harness(server, store, runtime, poller, clock)
    finally:
        await poller.stop()
        await session.close()
        await store.close()


@pytest.fixture
async def harness(tmp_path: Path, server: SourceServer) -> AsyncIterator[Harness]:
    async for made in make_harness(tmp_path, server):
        yield made


# --- polls that succeed ----------------------------------------------------------------------


async def test_first_poll_is_a_baseline_and_a_new_update_then_becomes_a_change(harness):
    harness.server.page("/live", live_page(update(1), update(2)))
    source = await harness.add("/live")
    await harness.poll()
    assert await harness.changes() == []

    harness.server.page("/live", live_page(update(1), update(2), update(3)))
    await harness.poll_when_due(source)
    changes = await harness.changes()
    assert [type(c) for c in changes] == [NewEntry]
    assert changes[0].entry.title == "Harbour festival update 3"


async def test_a_poll_with_changes_wakes_delivery(harness):
    harness.server.page("/live", live_page(update(1), key_points=("Boats arrive",)))
    await harness.add("/live")
    harness.runtime.delivery_wakeup.clear()
    await harness.poll()
    assert harness.runtime.delivery_wakeup.is_set()


async def test_conditional_get_sends_the_stored_etag_and_a_304_changes_nothing(harness):
    harness.server.page("/live", live_page(update(1)), etag=True)
    source = await harness.add("/live")
    await harness.poll()
    before = await harness.store.get_source(source)
    assert before.etag is not None

    await harness.poll_when_due(source)
    assert harness.server.requests["/live"][1]["If-None-Match"] == before.etag
    after = await harness.store.get_source(source)
    assert after.last_polled == harness.clock.now
    assert after.next_check > harness.clock.now
    assert after.etag == before.etag
    assert await harness.changes() == []


async def test_last_modified_is_sent_back_as_if_modified_since(harness):
    stamp = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    harness.server.page("/live", live_page(update(1)), last_modified=stamp)
    source = await harness.add("/live")
    await harness.poll()
    await harness.poll_when_due(source)
    sent = harness.server.requests["/live"][1]
    assert sent["If-Modified-Since"] == "Sat, 01 Jun 2024 08:00:00 GMT"


async def test_an_unchanged_body_stops_before_parsing(harness, monkeypatch):
    harness.server.page("/live", live_page(update(1), update(2)))  # no validators
    source = await harness.add("/live")
    await harness.poll()
    parsed = []
    real_extract = poller_module.extract
    monkeypatch.setattr(
        poller_module, "extract", lambda *a, **k: parsed.append(1) or real_extract(*a, **k)
    )
    changed_before = (await harness.store.get_source(source)).last_changed

    await harness.poll_when_due(source)
    assert parsed == []
    after = await harness.store.get_source(source)
    assert after.last_polled == harness.clock.now
    assert after.last_changed == changed_before
    assert len(await harness.store.latest_entries(1, limit=50)) == 2


async def test_new_validators_of_a_304_are_stored(harness):
    harness.server.page("/live", live_page(update(1)), etag='"v1"')
    source = await harness.add("/live")
    await harness.poll()

    async def not_modified(request):
        from aiohttp import web

        return web.Response(status=304, headers={"ETag": '"v2"'})

    harness.server.route("/live", not_modified)
    await harness.poll_when_due(source)
    assert (await harness.store.get_source(source)).etag == '"v2"'


async def test_a_redirect_is_followed(harness):
    harness.server.page("/live", live_page(update(1), key_points=("Boats arrive",)))
    harness.server.redirect("/moved", "/live", status=301)
    source = await harness.add("/moved")
    await harness.poll()
    record = await harness.store.get_source(source)
    assert record.failures == 0
    assert record.baseline_at is not None


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (lambda s: s.redirect("/live", "http://127.0.0.2:9/private"), "127.0.0.2"),
        (lambda s: s.redirect("/live", "http://10.0.0.1/admin"), "10.0.0.1"),
        (lambda s: s.page("/live", b"<p>" + b"x" * 100_000), "over 65536 bytes"),
        (lambda s: s.page("/live", b"just words, no page at all"), "plain text"),
        (lambda s: s.status("/live", 500), "HTTP 500"),
    ],
    ids=["redirect-to-loopback", "redirect-to-private", "too-large", "not-a-page", "http-500"],
)
async def test_a_failed_poll_is_recorded_with_its_reason(harness, script, message):
    script(harness.server)
    source = await harness.add("/live")
    await harness.poll()
    record = await harness.store.get_source(source)
    assert record.failures == 1
    assert message in (record.last_error or "")
    assert record.next_check > harness.clock.now


async def test_a_source_that_never_answers_times_out(tmp_path, server):
    async for harness in make_harness(tmp_path, server, timeout=0.5):
        server.hang("/live")
        source = await harness.add("/live")
        await harness.poll()
        record = await harness.store.get_source(source)
        assert "timed out" in (record.last_error or "")


async def test_retry_after_is_honoured(harness):
    harness.server.status("/live", 503, retry_after="900")
    source = await harness.add("/live")
    await harness.poll()
    record = await harness.store.get_source(source)
    assert record.next_check >= harness.clock.now + timedelta(seconds=900)


async def test_failures_back_off_exponentially(harness):
    harness.server.status("/live", 500)
    source = await harness.add("/live", interval=60)
    waits = []
    for _ in range(2):
        await harness.poll_when_due(source)
        record = await harness.store.get_source(source)
        waits.append((record.next_check - harness.clock.now).total_seconds())
    assert 30 <= waits[0] <= 60
    assert 60 <= waits[1] <= 120


async def test_pause_after_repeated_failures_and_resume_are_told_once_each(harness):
    out = io.StringIO()
    dispatcher = Dispatcher(harness.store, {"console": ConsoleSink(out)}, clock=harness.clock)
    harness.server.status("/live", 500)
    source = await harness.add("/live")
    for _ in range(5):  # 3 failures pause it; 2 more probes fail too
        await harness.poll_when_due(source)
        await dispatcher.drain()
    record = await harness.store.get_source(source)
    assert record.auto_paused
    assert out.getvalue().count("source paused:") == 1

    harness.server.page("/live", live_page(update(1)))
    for _ in range(2):
        await harness.poll_when_due(source)
        await dispatcher.drain()
    assert not (await harness.store.get_source(source)).auto_paused
    assert out.getvalue().count("source paused:") == 1
    assert out.getvalue().count("source resumed:") == 1


async def test_a_paused_source_is_probed_every_30_minutes(harness):
    harness.server.status("/live", 500)
    source = await harness.add("/live")
    for _ in range(3):
        await harness.poll_when_due(source)
    record = await harness.store.get_source(source)
    wait = (record.next_check - harness.clock.now).total_seconds()
    assert PROBE_INTERVAL * 0.9 <= wait <= PROBE_INTERVAL * 1.1


async def test_an_unexpected_error_is_a_failure_of_that_source_only(harness, monkeypatch):
    harness.server.page("/live", live_page(update(1)))
    source = await harness.add("/live")

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(poller_module, "extract", broken)
    await harness.poll()
    record = await harness.store.get_source(source)
    assert record.failures == 1
    assert "ZeroDivisionError" in (record.last_error or "")


# --- status ----------------------------------------------------------------------------------


async def test_a_story_without_updates_for_hours_turns_quiet(harness):
    harness.server.page("/live", live_page(update(1, at=T0 - timedelta(minutes=5))), etag=True)
    source = await harness.add("/live")
    await harness.poll()
    assert (await harness.store.get_source(source)).status is StoryStatus.LIVE
    harness.clock.advance(3 * 3600)
    await harness.poll()
    assert (await harness.store.get_source(source)).status is StoryStatus.QUIET
    assert await harness.changes() == [
        StatusChanged(status=StoryStatus.QUIET, previous=StoryStatus.LIVE)
    ]


async def test_coverage_end_in_the_past_ends_the_story(harness):
    page = live_page(update(1, at=T0 - timedelta(minutes=5)), coverage_end=T0 + timedelta(hours=1))
    harness.server.page("/live", page, etag=True)
    source = await harness.add("/live")
    await harness.poll()
    harness.clock.advance(2 * 3600)
    await harness.poll()
    record = await harness.store.get_source(source)
    assert record.status is StoryStatus.ENDED
    assert (record.next_check - harness.clock.now).total_seconds() >= 3600 * 0.9


async def test_a_new_update_brings_a_quiet_story_back_to_live(harness):
    first = update(1, at=T0 - timedelta(minutes=5))
    harness.server.page("/live", live_page(first))
    source = await harness.add("/live")
    await harness.poll()
    harness.clock.advance(3 * 3600)
    await harness.poll()
    harness.server.page("/live", live_page(first, update(2, at=harness.clock.now)))
    await harness.poll_when_due(source)
    changes = await harness.changes()
    assert changes[-1] == StatusChanged(status=StoryStatus.LIVE, previous=StoryStatus.QUIET)
    assert (await harness.store.get_source(source)).status is StoryStatus.LIVE


async def test_a_story_takes_the_status_of_its_liveliest_source_announced_once(harness):
    # A live page and a feed that went stale: the story is quiet only once both are, and ends
    # once, not once per source.
    page = [update(1, at=T0 - timedelta(minutes=5))]
    harness.server.page("/live", live_page(*page))
    harness.server.page("/feed", live_page(update(9, at=T0 - timedelta(minutes=5))), etag=True)
    await harness.add("/live")
    await harness.add("/feed")
    await harness.poll()

    def statuses(changes: list) -> list:
        return [c for c in changes if isinstance(c, StatusChanged)]

    harness.clock.advance(3 * 3600)  # the page has news, the feed none for 3 hours
    page.append(update(2, at=harness.clock.now))
    harness.server.page("/live", live_page(*page))
    await harness.poll()
    assert statuses(await harness.changes()) == []

    harness.clock.advance(3 * 3600)  # now neither has had news for 3 hours
    await harness.poll()
    assert statuses(await harness.changes()) == [
        StatusChanged(status=StoryStatus.QUIET, previous=StoryStatus.LIVE)
    ]

    harness.clock.advance(49 * 3600)
    await harness.poll()
    assert statuses(await harness.changes()) == [
        StatusChanged(status=StoryStatus.QUIET, previous=StoryStatus.LIVE),
        StatusChanged(status=StoryStatus.ENDED, previous=StoryStatus.QUIET),
    ]


# --- isolation and concurrency ---------------------------------------------------------------


async def test_a_hanging_source_does_not_delay_another(harness):
    harness.server.hang("/slow")
    harness.server.page("/live", live_page(update(1), key_points=("Boats arrive",)))
    slow = await harness.add("/slow", story="Slow")
    fast = await harness.add("/live")
    assert await harness.poller.run_once() == 2

    await until_polled(harness.store, fast, 1.5)  # well inside the slow one's 2 s timeout
    assert slow in harness.poller.in_flight


async def test_a_source_is_never_polled_twice_at_once(harness):
    harness.server.hang("/slow")
    source = await harness.add("/slow")
    assert await harness.poller.run_once() == 1
    await asyncio.sleep(0.1)
    harness.clock.advance(3600)  # due again while the first poll still waits
    assert await harness.poller.run_once() == 0
    await asyncio.sleep(0.1)
    assert harness.server.hits["/slow"] == 1
    assert harness.poller.in_flight == {source}


async def test_in_flight_polls_are_bounded(tmp_path, server):
    async for harness in make_harness(tmp_path, server):
        harness.poller = Poller(harness.runtime, clock=harness.clock, max_in_flight=3)
        server.hang("/slow")
        for n in range(5):
            await harness.add(f"/slow?{n}", story=f"S{n}")
        assert await harness.poller.run_once() == 3
        assert len(harness.poller.in_flight) == 3


async def test_many_sources_of_a_hanging_host_leave_room_for_other_hosts(tmp_path, server):
    # Twelve sources on a host that never answers, one fetch per host: they must not fill every
    # place among the polls in flight (eight here), or a source elsewhere would wait for them.
    other = f"localhost:{server.port}"
    async for harness in make_harness(
        tmp_path,
        server,
        timeout=120.0,
        concurrency=2,
        per_host=1,
        allow_private_addresses=(server.host_port, other),
    ):
        server.hang("/slow")
        server.page("/live", live_page(update(1)))
        for n in range(12):
            await harness.add(f"/slow?{n}", story=f"Slow {n}")
        story = await harness.store.ensure_story("Elsewhere", now=harness.clock.now)
        fast = await harness.store.add_source(
            story, f"http://{other}/live", interval=60, now=harness.clock.now
        )
        await harness.poller.run_once()
        await until_polled(harness.store, fast, 30)
        assert server.hits["/slow"] <= 1  # one fetch per host: the rest wait their turn
        assert len(harness.poller.in_flight) == 1  # one fetching; the rest wait in its queue
        assert harness.poller.waiting == 11


async def test_stop_cancels_polls_in_flight_quickly(harness):
    harness.server.hang("/slow")
    source = await harness.add("/slow")
    await harness.poller.run_once()
    await asyncio.sleep(0.1)
    await asyncio.wait_for(harness.poller.stop(), 1.0)
    assert harness.poller.in_flight == frozenset()
    record = await harness.store.get_source(source)
    assert record.failures == 0 and record.last_polled is None  # nothing half-recorded


async def test_the_scheduler_drives_polls(tmp_path, server):
    async for harness in make_harness(tmp_path, server):
        real = Poller(harness.runtime, tick=0.2)
        server.page("/live", live_page(update(1), key_points=("Boats arrive",)))
        story = await harness.store.ensure_story("Harbour")
        source = await harness.store.add_source(story, server.url("/live"))
        real.start()
        harness.runtime.scheduler.start()
        try:
            await until_polled(harness.store, source, 3)
        finally:
            harness.runtime.scheduler.shutdown(wait=False)
            await real.stop()


async def test_key_point_changes_reach_the_outbox(harness):
    harness.server.page("/live", live_page(update(1), key_points=("Boats arrive",)))
    source = await harness.add("/live")
    await harness.poll()
    harness.server.page("/live", live_page(update(1), key_points=("Boats arrive", "Rain at 3")))
    await harness.poll_when_due(source)
    changes = [c for c in await harness.changes() if isinstance(c, KeyPointsChanged)]
    assert changes[-1].added == ("Rain at 3",)


def test_base_time_is_before_t0():
    # the synthetic updates are dated before the clock starts, as a real page's are
    assert BASE < T0
