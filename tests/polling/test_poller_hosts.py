"""Polls of one host: `per_host` bounds its fetches in flight, and nothing else holds them back.

A fake clock that never moves and no scheduler: whatever happens after the one read of due
sources happens because fetches ended, never because a tick came.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from aiohttp import web

from bot.store import PollRecord
from bot.store.codec import from_us
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update
from tests.polling.test_poller import Harness, make_harness, until_polled


@pytest.fixture
async def server() -> AsyncIterator[SourceServer]:
    async with SourceServer() as running:
        yield running


def count_concurrency(server: SourceServer, paths: list[str]) -> dict[str, int]:
    """Serve a live page at each of PATHS, a few milliseconds late, and count the requests
    being answered at once (now, and the most ever)."""
    body = live_page(update(1), update(2))
    seen = {"now": 0, "most": 0}

    async def handler(request: web.Request) -> web.Response:
        seen["now"] += 1
        seen["most"] = max(seen["most"], seen["now"])
        try:
            await asyncio.sleep(0.005)
            return web.Response(body=body, content_type="text/html")
        finally:
            seen["now"] -= 1

    for path in paths:
        server.route(path, handler)
    return seen


async def test_a_hundred_sources_of_one_host_all_finish_without_waiting_for_a_tick(
    tmp_path, server
):
    async for harness in make_harness(tmp_path, server, per_host=4, concurrency=64):
        paths = [f"/feed/{n}" for n in range(100)]
        seen = count_concurrency(server, paths)
        ids = [await harness.add(path, story=f"Section {n}") for n, path in enumerate(paths)]

        await harness.poller.run_once()  # the only tick: the clock never moves
        await asyncio.wait_for(harness.poller.wait_idle(), 30)

        assert harness.poller.polls == 100
        assert all(server.hits[path] == 1 for path in paths)
        assert seen["most"] == 4  # per_host, and it was used to the full
        polled = [await harness.store.get_source(source) for source in ids]
        assert all(source.last_polled is not None for source in polled)


async def test_a_backlog_of_one_host_does_not_delay_a_source_of_another(tmp_path, server):
    other = f"localhost:{server.port}"
    async for harness in make_harness(
        tmp_path,
        server,
        timeout=120.0,
        per_host=2,
        allow_private_addresses=(server.host_port, other),
    ):
        server.hang("/slow")
        server.page("/live", live_page(update(1)))
        for n in range(40):
            await harness.add(f"/slow?{n}", story=f"Slow {n}")
        await harness.poller.run_once()
        assert len(harness.poller.in_flight) == 2  # per_host: the rest wait in its queue

        # due later than the whole backlog, and read by the next tick all the same
        harness.clock.advance(30)
        story = await harness.store.ensure_story("Elsewhere", now=harness.clock.now)
        fast = await harness.store.add_source(
            story, f"http://{other}/live", interval=60, now=harness.clock.now
        )
        assert await harness.poller.run_once() == 1
        await until_polled(harness.store, fast, 5)
        assert harness.poller.waiting == 38
        assert server.hits["/slow"] == 2


@pytest.fixture
async def one_per_host(tmp_path, server) -> AsyncIterator[Harness]:
    async for harness in make_harness(tmp_path, server, per_host=1):
        yield harness


async def test_the_next_source_of_a_host_starts_when_a_fetch_ends_not_when_its_poll_does(
    one_per_host, monkeypatch
):
    harness, server = one_per_host, one_per_host.server
    count_concurrency(server, ["/a", "/b"])
    first = await harness.add("/a", story="A")
    await harness.add("/b", story="B")
    recording = asyncio.Event()
    release = asyncio.Event()
    record_poll = harness.store.record_poll

    async def slow_record(record: PollRecord) -> None:  # the first one waits until released
        if record.source_id == first:
            recording.set()
            await release.wait()
        await record_poll(record)

    monkeypatch.setattr(harness.store, "record_poll", slow_record)
    assert await harness.poller.run_once() == 1
    await asyncio.wait_for(recording.wait(), 5)
    for _ in range(100):  # /b is fetched while /a's poll is still being recorded
        if server.hits["/b"]:
            break
        await asyncio.sleep(0.01)
    assert server.hits["/b"] == 1
    release.set()
    await asyncio.wait_for(harness.poller.wait_idle(), 5)
    assert harness.poller.polls == 2


async def test_sources_waiting_in_their_hosts_queue_keep_their_leases(tmp_path, server):
    """A fleet's other processes must not take over a source this one has queued: the renewal
    covers every source read and claimed, not only those being fetched."""
    async for harness in make_harness(tmp_path, server, timeout=120.0, per_host=2, lease=1):
        server.hang("/slow")
        for n in range(10):
            await harness.add(f"/slow?{n}", story=f"Slow {n}")
        await harness.poller.run_once()
        assert (len(harness.poller.in_flight), harness.poller.waiting) == (2, 8)
        start = harness.clock.now
        assert (
            await leases(harness)
            == [(harness.poller.lease_owner, start + timedelta(seconds=1))] * 10
        )

        harness.clock.advance(20)  # the renewal (every third of the lease) reads this clock
        scheduler = harness.runtime.scheduler
        harness.poller.start()
        scheduler.start()
        try:
            renewed = start + timedelta(seconds=21)
            for _ in range(200):
                if {until for _, until in await leases(harness)} == {renewed}:
                    break
                await asyncio.sleep(0.02)
            assert await leases(harness) == [(harness.poller.lease_owner, renewed)] * 10
        finally:
            scheduler.shutdown(wait=False)


async def leases(harness: Harness) -> list[tuple[str, datetime]]:
    rows = await harness.store._query_all(
        "SELECT lease_owner, lease_until FROM sources ORDER BY id"
    )
    return [(row[0], from_us(row[1])) for row in rows]


@pytest.fixture
async def polite(tmp_path, server) -> AsyncIterator[Harness]:
    async for harness in make_harness(tmp_path, server, per_host=4, per_host_rate=20):
        yield harness


async def test_at_a_per_host_rate_one_hosts_fetches_start_that_far_apart_without_a_tick(polite):
    harness, server = polite, polite.server
    arrived: list[float] = []
    body = live_page(update(1))

    async def handler(request: web.Request) -> web.Response:
        arrived.append(time.monotonic())
        return web.Response(body=body, content_type="text/html")

    for n in range(6):
        server.route(f"/feed/{n}", handler)
        await harness.add(f"/feed/{n}", story=f"Section {n}")

    await harness.poller.run_once()  # the only tick: the clock never moves
    await asyncio.wait_for(harness.poller.wait_idle(), 10)

    assert harness.poller.polls == 6
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrived)]
    # 20 a second is a start every 50 ms; arrivals may bunch by a few milliseconds
    assert len(gaps) == 5 and min(gaps) > 0.035, gaps
