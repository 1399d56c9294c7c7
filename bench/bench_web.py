"""The web window's cost: polling with the status page open and refreshing against polling with
the web window off (median of five interleaved runs; aim: within 5 %), and the time to draw
`/` for 1,000 stories (aim: under 200 ms).

Polling: 400 sources on a local SourceServer (in a child process, so that its CPU is not
counted), synthetic live pages of which about a fifth change each round, through the real
Poller, Fetcher, extraction and store; each run polls every source three times. With the
window on, the metrics count every poll and a client fetches `/` and `/metrics` over loopback
as fast as they come back (far harsher than a browser's refresh every 30 s).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bench.common import table
from bot.config import Config, DatabaseConfig, PollingConfig, WebConfig
from bot.polling import Poller
from bot.runtime import Runtime
from bot.sources.fetch import Fetcher, open_session
from bot.store import Store, open_store
from bot.web import Metrics, WebWindow

SOURCES = 400
ROUNDS = 3
RUNS = 5
PAGE_STORIES = 1000


def _serve(connection: multiprocessing.connection.Connection) -> None:
    from aiohttp import web

    from tests.fakes.source_server import SourceServer
    from tests.livepage import live_page, update

    async def main() -> None:
        async with SourceServer() as server:
            for source in range(SOURCES):
                served = {"count": 0}

                async def handler(request: web.Request, source: int = source, served=served):
                    served["count"] += 1
                    version = served["count"] // 5 if (source + served["count"]) % 5 else 0
                    updates = [update(n) for n in range(1, 12 + version)]
                    body = live_page(*updates, key_points=(f"Source {source} key point",))
                    return web.Response(body=body, content_type="text/html")

                server.route(f"/s/{source}", handler)
            connection.send(server.port)
            await asyncio.Event().wait()

    asyncio.run(main())


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def _polls_per_minute(port: int, directory: Path, *, web: bool) -> float:
    polling = PollingConfig(
        concurrency=32, per_host=32, timeout=20.0, allow_private_addresses=(f"127.0.0.1:{port}",)
    )
    listen = "127.0.0.1:0" if web else None
    config = Config(
        polling=polling,
        database=DatabaseConfig(directory / f"bench-{time.monotonic_ns()}.db"),
        web=WebConfig(listen=listen),
    )
    store = await open_store(config.database.path)
    session = open_session(polling.fetch_limits())
    clock = Clock()
    runtime = Runtime(
        config, store, Fetcher(session, polling.fetch_limits()), AsyncIOScheduler(timezone=UTC)
    )
    window = None
    reader = None
    stop = asyncio.Event()
    try:
        for source in range(SOURCES):
            story = await store.ensure_story(f"Story {source}", now=clock.now)
            await store.add_source(story, f"http://127.0.0.1:{port}/s/{source}", now=clock.now)
            await store.subscribe(story, guild_id=None, channel_id=None, now=clock.now)
        if web:
            metrics = Metrics()
            runtime.observer = metrics
            window = WebWindow(runtime, metrics)
            url = await window.start()
            reader = asyncio.create_task(_keep_reading(url, stop))
        poller = Poller(runtime, clock=clock, rng=random.Random(1))
        await _round(poller, clock)  # baselines: not measured
        started = time.perf_counter()
        for _ in range(ROUNDS):
            await _round(poller, clock)
        wall = time.perf_counter() - started
    finally:
        stop.set()
        if reader is not None:
            await reader
        if window is not None:
            await window.stop()
        await session.close()
        await store.close()
    return SOURCES * ROUNDS / wall * 60


async def _round(poller: Poller, clock: Clock) -> None:
    clock.now += timedelta(hours=2)
    target = poller.polls + SOURCES
    while poller.polls < target:
        await poller.run_once()
        await asyncio.sleep(0.01)


async def _keep_reading(url: str, stop: asyncio.Event) -> None:
    """The status page and the metrics, fetched again as soon as they arrive."""
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            for path in ("/", "/metrics"):
                async with http.get(f"{url}{path}") as response:
                    await response.read()


async def _page_time(directory: Path) -> tuple[float, float, int]:
    """Median ms to read and draw `/` for PAGE_STORIES stories (in process, and over HTTP), and
    the page's size."""
    from tests.builders import T0, entry, poll, snap

    store: Store = await open_store(directory / "page.db")
    try:
        for n in range(PAGE_STORIES):
            story = await store.ensure_story(f"Story {n:04d}", guild_id=1 + n % 5, now=T0)
            source = await store.add_source(story, f"https://news{n}.example/live", now=T0)
            await store.subscribe(story, guild_id=1 + n % 5, channel_id=100 + n, now=T0)
            points = (f"Story {n} point one", f"Story {n} point two", f"Story {n} point three")
            await poll(store, source, snap(*(entry(i) for i in range(1, 21)), key_points=points))
        config = Config(web=WebConfig(listen="127.0.0.1:0"))
        metrics = Metrics()
        runtime = Runtime(config, store, None, AsyncIOScheduler(timezone=UTC), observer=metrics)  # type: ignore[arg-type]
        window = WebWindow(runtime, metrics)
        url = await window.start()
        try:
            drawn, fetched = [], []
            size = 0
            async with aiohttp.ClientSession() as http:
                for _ in range(7):
                    started = time.perf_counter()
                    response = await window.index(None)  # type: ignore[arg-type]
                    drawn.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    async with http.get(f"{url}/") as answer:
                        size = len(await answer.read())
                    fetched.append(time.perf_counter() - started)
            assert response.status == 200
        finally:
            await window.stop()
    finally:
        await store.close()
    return statistics.median(drawn) * 1000, statistics.median(fetched) * 1000, size


def run() -> None:
    print("## Web window: polling with the status page open, and drawing it\n")
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the benchmark's source server did not start")
        port = parent.recv()
        off: list[float] = []
        on: list[float] = []
        with tempfile.TemporaryDirectory(prefix="bulletin-bench-web-") as name:
            directory = Path(name)
            for _ in range(RUNS):  # interleaved, so that drifts of the machine hit both
                off.append(asyncio.run(_polls_per_minute(port, directory, web=False)))
                on.append(asyncio.run(_polls_per_minute(port, directory, web=True)))
            drawn, fetched, size = asyncio.run(_page_time(directory))
    finally:
        server.terminate()
        server.join(5)
    median_off, median_on = statistics.median(off), statistics.median(on)
    change = median_on / median_off - 1
    print(
        table(
            ["web window", "polls per minute (median of 5)", "runs"],
            [
                ["off", f"{median_off:,.0f}", ", ".join(f"{v:,.0f}" for v in off)],
                [
                    "on, page and metrics read without pause",
                    f"{median_on:,.0f} ({change:+.1%})",
                    ", ".join(f"{v:,.0f}" for v in on),
                ],
            ],
        )
    )
    print()
    print(
        table(
            ["`/` with 1,000 stories", "median ms"],
            [
                ["read from the store and drawn (in process)", f"{drawn:.0f}"],
                ["fetched over HTTP (whole page)", f"{fetched:.0f}"],
                ["page size", f"{size / 1024:,.0f} KB"],
            ],
        )
    )
