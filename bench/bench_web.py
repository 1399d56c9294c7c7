"""The web window's cost: polling with the status page open and refreshing against polling with
the web window off (median of five interleaved runs; aim: within 5 %), and the time to draw
`/` for 1,000 stories (aim: under 200 ms).

Polling: 400 sources on a local SourceServer (in a child process, so that its CPU is not
counted), synthetic live pages of which about a fifth change each round, through the real
Poller, Fetcher, extraction and store; each run polls every source again and again for 30 s.
With the window on, the metrics count every poll and a client reads `/` and `/metrics` over
loopback: as a browser refreshes the page (every 30 s) and Prometheus scrapes (every 15 s),
and, as a stress, both every second. Besides polls per minute (wall time), the process's CPU per
poll is given: on a machine shared with other work it is the steadier measure.

The page: 1,000 stories of one source each, with 20 updates and three key points, read from
the store and drawn (median of seven; CPU of this process, and wall time).
"""

from __future__ import annotations

import asyncio
import contextlib
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
RUNS = 5
PAGE_STORIES = 1000


def _serve(connection: multiprocessing.connection.Connection) -> None:
    from aiohttp import web

    from tests.fakes.source_server import SourceServer
    from tests.livepage import live_page, update

    async def main() -> None:
        async with SourceServer() as server:
            counts = [0] * SOURCES  # polls of each source in this run

            async def handler(request: web.Request) -> web.Response:
                source = int(request.path.rsplit("/", 1)[1])
                counts[source] += 1
                # about a fifth of the sources have a new update at each poll
                version = counts[source] if (source + counts[source]) % 5 == 0 else 0
                updates = [update(n) for n in range(1, 12 + version % 4)]
                body = live_page(*updates, key_points=(f"Source {source} key point",))
                return web.Response(body=body, content_type="text/html")

            async def reset(request: web.Request) -> web.Response:
                counts[:] = [0] * SOURCES  # every run sees the same pages
                return web.Response(text="ok")

            for source in range(SOURCES):
                server.route(f"/s/{source}", handler)
            server.route("/reset", reset)
            connection.send(server.port)
            await asyncio.Event().wait()

    asyncio.run(main())


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


# (seconds between two reads of the page, between two reads of the metrics) with the web
# window on: a browser refreshes the page every 30 s, Prometheus scrapes every 15 s or so.
MODES: tuple[tuple[str, tuple[float, float] | None], ...] = (
    ("off", None),
    ("on: the page read every 30 s, the metrics every 15 s", (30.0, 15.0)),
    ("on, a stress: both read every second", (1.0, 1.0)),
)
DURATION = 30.0  # seconds of polling measured per run


async def _polls_per_minute(
    port: int, directory: Path, *, every: tuple[float, float] | None
) -> tuple[float, float]:
    """(polls per minute, CPU ms per poll) over DURATION seconds of polling every source
    again and again; EVERY: seconds between two reads of the page and of the metrics (None:
    the web window off)."""
    polling = PollingConfig(
        concurrency=32, per_host=32, timeout=20.0, allow_private_addresses=(f"127.0.0.1:{port}",)
    )
    listen = "127.0.0.1:0" if every is not None else None
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
        async with session.get(f"http://127.0.0.1:{port}/reset") as response:
            await response.read()
        for source in range(SOURCES):
            story = await store.ensure_story(f"Story {source}", now=clock.now)
            await store.add_source(story, f"http://127.0.0.1:{port}/s/{source}", now=clock.now)
            await store.subscribe(story, guild_id=None, channel_id=None, now=clock.now)
        if every is not None:
            metrics = Metrics()
            runtime.observer = metrics
            window = WebWindow(runtime, metrics)
            url = await window.start()
        poller = Poller(runtime, clock=clock, rng=random.Random(1))
        await _round(poller, clock)  # baselines: not measured
        if window is not None and every is not None:
            reader = asyncio.create_task(_keep_reading(url, stop, *every))
        polls = poller.polls
        started, cpu = time.perf_counter(), time.process_time()
        while time.perf_counter() - started < DURATION:
            await _round(poller, clock)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        polls = poller.polls - polls
    finally:
        stop.set()
        if reader is not None:
            await reader
        if window is not None:
            await window.stop()
        await session.close()
        await store.close()
    return polls / wall * 60, cpu / polls * 1000


async def _round(poller: Poller, clock: Clock) -> None:
    clock.now += timedelta(hours=2)
    target = poller.polls + SOURCES
    while poller.polls < target:
        await poller.run_once()
        await asyncio.sleep(0.01)


async def _keep_reading(url: str, stop: asyncio.Event, page: float, scrape: float) -> None:
    """The status page every PAGE seconds and the metrics every SCRAPE seconds, the first of
    each at once."""
    loop = asyncio.get_running_loop()
    due = {"/": loop.time(), "/metrics": loop.time()}
    every = {"/": page, "/metrics": scrape}
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            for path, when in due.items():
                if loop.time() >= when:
                    async with http.get(f"{url}{path}") as response:
                        await response.read()
                    due[path] = loop.time() + every[path]
            wait = max(min(due.values()) - loop.time(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)


async def _page_time(directory: Path) -> tuple[float, float, float, int]:
    """Median ms to read and draw `/` for PAGE_STORIES stories (CPU and wall time, in process),
    over HTTP (wall), and the page's size."""
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
            cpu, drawn, fetched = [], [], []
            size = 0
            async with aiohttp.ClientSession() as http:
                for _ in range(7):
                    window._front = (0.0, "")  # drawn afresh each time
                    started, used = time.perf_counter(), _cpu()
                    response = await window.index(None)  # type: ignore[arg-type]
                    drawn.append(time.perf_counter() - started)
                    cpu.append(_cpu() - used)
                    window._front = (0.0, "")
                    started = time.perf_counter()
                    async with http.get(f"{url}/") as answer:
                        size = len(await answer.read())
                    fetched.append(time.perf_counter() - started)
            assert response.status == 200
        finally:
            await window.stop()
    finally:
        await store.close()
    median = statistics.median
    return median(cpu) * 1000, median(drawn) * 1000, median(fetched) * 1000, size


def _cpu() -> float:
    """CPU time of this process, all its threads (the page is drawn in a worker thread)."""
    return time.process_time()


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
        results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in MODES}
        with tempfile.TemporaryDirectory(prefix="bulletin-bench-web-") as name:
            directory = Path(name)
            for _ in range(RUNS):  # interleaved, so that drifts of the machine hit every mode
                for mode, every in MODES:
                    run = asyncio.run(_polls_per_minute(port, directory, every=every))
                    results[mode].append(run)
            cpu, drawn, fetched, size = asyncio.run(_page_time(directory))
    finally:
        server.terminate()
        server.join(5)
    rows = []
    base_rate = base_cpu = 0.0
    for mode, _ in MODES:
        rate = statistics.median(rate for rate, _ in results[mode])
        per_poll = statistics.median(ms for _, ms in results[mode])
        if not rows:
            base_rate, base_cpu = rate, per_poll
            rows.append([mode, f"{rate:,.0f}", f"{per_poll:.3f} ms"])
        else:
            rows.append(
                [
                    mode,
                    f"{rate:,.0f} ({rate / base_rate - 1:+.1%})",
                    f"{per_poll:.3f} ms ({per_poll / base_cpu - 1:+.1%})",
                ]
            )
        rows[-1].append(", ".join(f"{rate:,.0f}" for rate, _ in results[mode]))
    print(
        table(
            ["web window", "polls per minute (median of 5)", "CPU per poll", "runs (polls/min)"],
            rows,
        )
    )
    print()
    print(
        table(
            ["`/` with 1,000 stories", "median"],
            [
                ["read from the store and drawn: CPU", f"{cpu:.0f} ms"],
                ["read from the store and drawn: wall time", f"{drawn:.0f} ms"],
                ["fetched over HTTP (whole page, wall time)", f"{fetched:.0f} ms"],
                ["page size", f"{size / 1024:,.0f} KB"],
            ],
        )
    )
