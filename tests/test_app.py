"""The async main in console mode: real store file, real HTTP on 127.0.0.1, a clean stop."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import app
from bot.config import (
    Config,
    DatabaseConfig,
    PollingConfig,
    SourceConfig,
    StoryConfig,
    parse_config,
)
from bot.runtime import Runtime
from bot.store import open_store
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page
from tests.livepage import update as dated_update

NOW = datetime.now(UTC)


def update(n: int):
    """Update N, dated just now (a story with old updates would be polled only hourly)."""
    return dated_update(n, at=NOW - timedelta(minutes=10 - n))


@pytest.fixture
async def server() -> AsyncIterator[SourceServer]:
    async with SourceServer() as running:
        yield running


def config_for(
    tmp_path: Path, server: SourceServer, *paths: str, timeout: float = 2.0, **extra: object
) -> Config:
    polling = PollingConfig(
        interval=1, min_interval=1, timeout=timeout, allow_private_addresses=(server.host_port,)
    )
    stories = tuple(
        StoryConfig(name=f"Story {n}", sources=(SourceConfig(server.url(path)),), interval=1)
        for n, path in enumerate(paths, start=1)
    )
    return Config(
        polling=polling,
        database=DatabaseConfig(tmp_path / "bulletin.db"),
        stories=stories,
        **extra,  # type: ignore[arg-type]
    )


async def run_until(config: Config, out: io.StringIO, done, *, within: float = 8.0):
    """Run main until DONE(out text) is true, then stop it; main's result and the runtime."""
    stop = asyncio.Event()
    ready: list[Runtime] = []
    task = asyncio.create_task(app.main(config, stop=stop, out=out, on_ready=ready.append))
    try:
        async with asyncio.timeout(within):
            while not done(out.getvalue()):  # noqa: ASYNC110 - the text is the signal
                await asyncio.sleep(0.05)
    finally:
        stop.set()
    return await asyncio.wait_for(task, 5), ready


async def test_console_shows_key_points_then_new_updates(tmp_path, server):
    server.page("/live", live_page(update(1), key_points=("Boats arrive at ten",)))
    config = config_for(tmp_path, server, "/live")
    out = io.StringIO()

    def grow(text: str) -> bool:
        if "Boats arrive at ten" in text and "update 2" not in text:
            server.page(
                "/live", live_page(update(1), update(2), key_points=("Boats arrive at ten",))
            )
        return "Harbour festival update 2" in text

    status, _ = await run_until(config, out, grow)
    text = out.getvalue()
    assert status == 0
    assert text.index("Boats arrive at ten") < text.index("Harbour festival update 2")
    assert "Harbour festival update 1" not in text  # the baseline posts no updates


async def test_a_page_without_a_box_gets_a_labelled_extracted_summary(tmp_path, server):
    server.page("/live", live_page(update(1), update(2)))
    out = io.StringIO()
    status, _ = await run_until(
        config_for(tmp_path, server, "/live"), out, lambda t: "extracted" in t
    )
    assert status == 0
    assert "Key points (extracted from recent updates):" in out.getvalue()


async def test_updates_too_short_to_summarise_are_not_called_nothing_read(tmp_path, server):
    server.page("/live", live_page(dated_update(1, text="Boats.", at=NOW)))
    out = io.StringIO()
    status, _ = await run_until(
        config_for(tmp_path, server, "/live"), out, lambda t: "no key points" in t
    )
    assert status == 0
    assert "no key-points box, and their updates are too short to summarise" in out.getvalue()
    assert "nothing has been read" not in out.getvalue()


async def test_a_source_not_read_yet_says_so(tmp_path, server):
    server.status("/live", 500)
    out = io.StringIO()
    status, _ = await run_until(
        config_for(tmp_path, server, "/live"), out, lambda t: "no key points" in t
    )
    assert status == 0
    assert "nothing has been read from its sources so far (last error: HTTP 500 from" in (
        out.getvalue()
    )


async def test_a_story_already_over_at_start_says_coverage_ended_once(tmp_path, server):
    page = live_page(
        update(1), key_points=("Boats arrive at ten",), coverage_end=NOW - timedelta(hours=1)
    )
    server.page("/live", page)
    config = config_for(tmp_path, server, "/live")
    out = io.StringIO()
    await run_until(config, out, lambda t: "coverage ended" in t)
    assert out.getvalue().index("Boats arrive at ten") < out.getvalue().index("coverage ended")
    later = io.StringIO()  # a later run is told again, before any poll
    server.hang("/live")
    await run_until(config, later, lambda t: "coverage ended" in t, within=3)
    assert later.getvalue().count("coverage ended") == 1


async def test_known_key_points_are_shown_at_start_of_a_later_run(tmp_path, server):
    server.page("/live", live_page(update(1), key_points=("Boats arrive at ten",)))
    config = config_for(tmp_path, server, "/live")
    await run_until(config, io.StringIO(), lambda t: "Boats arrive at ten" in t)
    server.hang("/live")  # the second run shows them before any poll could answer
    out = io.StringIO()
    await run_until(config, out, lambda t: "Boats arrive at ten" in t, within=3)
    assert out.getvalue().count("Boats arrive at ten") == 1


async def test_stop_is_quick_with_a_slow_fetch_in_flight_and_leaves_the_store_whole(
    tmp_path, server
):
    server.hang("/slow")
    server.page("/live", live_page(update(1), key_points=("Boats arrive at ten",)))
    config = config_for(tmp_path, server, "/slow", "/live", timeout=30.0)
    # run_until allows main 5 s to return after stop, far less than the 30 s fetch timeout
    status, _ = await run_until(config, io.StringIO(), lambda t: "Boats arrive" in t)
    assert status == 0
    store = await open_store(config.database.path)
    try:
        slow, fast = [
            (await store.sources_of_story(s.id))[0]
            for s in sorted(await store.stories_for_guild(None), key=lambda s: s.name)
        ]
        assert slow.last_polled is None and slow.failures == 0
        assert fast.baseline_at is not None
        assert await store.current_key_points((await store.stories_for_guild(None))[1].id)
    finally:
        await store.close()


async def test_without_stories_it_says_how_to_add_them_and_keeps_running(tmp_path, server):
    config = config_for(tmp_path, server)
    out = io.StringIO()
    status, ready = await run_until(config, out, lambda t: "no stories" in t)
    assert status == 0
    assert "[[stories]]" in out.getvalue()
    assert len(ready) == 1


async def test_sync_stories_follows_the_config_file(tmp_path, server):
    store = await open_store(tmp_path / "bulletin.db")
    try:
        first = config_for(tmp_path, server, "/a", "/b")
        ids = await app.sync_stories(store, first)
        assert set(ids) == {"Story 1", "Story 2"}
        changed = config_for(tmp_path, server, "/c")  # Story 1 now follows /c; Story 2 gone
        await app.sync_stories(store, changed)
        urls = [s.url for s in await store.sources_of_story(ids["Story 1"])]
        assert urls == [server.url("/c")]
        assert (await store.get_story(ids["Story 2"])).paused_at is not None
        await app.sync_stories(store, first)  # back in the file: followed again
        assert (await store.get_story(ids["Story 2"])).paused_at is None
    finally:
        await store.close()


async def test_a_sources_retention_from_the_config_reaches_the_store(tmp_path):
    config = parse_config(
        {
            "stories": [
                {"name": "S", "sources": [{"url": "https://a.example/f", "retention_days": 90}]}
            ]
        }
    )
    store = await open_store(tmp_path / "bulletin.db")
    try:
        ids = await app.sync_stories(store, config)
        (source,) = await store.sources_of_story(ids["S"])
        assert source.retention_days == 90
    finally:
        await store.close()
