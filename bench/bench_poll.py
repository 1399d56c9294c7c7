"""Polling: 1,000 sources on a local SourceServer (the shared fixture pages and feeds, read in
place), about 20 % changing each round, through the real Poller, Fetcher, extraction and store.

Prints sources polled per minute (wall time, with the process's CPU over that wall time),
CPU ms per unchanged and per changed poll, peak RSS, and p50/p99 from response received to
change stored. The server runs in a child process so that its CPU is not counted. All sources
share one host here (127.0.0.1), so the per-host limit is raised to the global one.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bench.common import FIXTURES, table
from bot.config import Config, DatabaseConfig, PollingConfig
from bot.errors import BulletinError
from bot.polling import Poller
from bot.runtime import Runtime
from bot.sources.extract import extract
from bot.sources.fetch import Fetcher, open_session
from bot.store import PollRecord, open_store

SOURCES = 1000
CHANGING_ROUNDS = 3
STILL_ROUNDS = 2
BIG_POLLS = 20


# --- the server (child process) ---------------------------------------------------------------


def _changed_body(body: bytes, version: int, source: int) -> bytes:
    """The fixture with something new: an item for feeds, a comment for pages and JSON."""
    item = (
        f"<item><title>Bench item {source}.{version}</title><guid>bench-{source}-{version}</guid>"
        f"<description>Round {version} brought news for source {source}.</description></item>"
    ).encode()
    entry = (
        f"<entry><title>Bench entry {source}.{version}</title><id>urn:bench:{source}:{version}"
        f"</id><updated>2024-06-01T12:00:00Z</updated><content>Round {version}.</content></entry>"
    ).encode()
    for closing, addition in ((b"</channel>", item), (b"</feed>", entry)):
        at = body.rfind(closing)
        if at != -1:
            return body[:at] + addition + body[at:]
    if body.lstrip().startswith((b"{", b"[")):
        return body + b" " * version  # JSON: the same document, a new body
    return body + f"<!-- revision {version} -->".encode()


def _big_feed(version: int) -> bytes:
    """A synthetic RSS feed of about 250 KB whose newest item is `version`: 60 items of
    about 4 KB of HTML each (full-text feeds carry a few dozen long items)."""
    items = []
    for n in range(version, version - 60, -1):
        paragraph = (
            f"<p>Update {n}: the committee met again and agreed the next steps for the "
            "harbour works, the ferry timetable and the festival stage, and said that "
            "residents would be told of every closure a week ahead.</p>"
        )
        item = (
            f"<item><title>Harbour works update {n}</title><guid>big-{n}</guid>"
            f"<link>https://news.example/harbour/{n}</link>"
            "<pubDate>Sat, 01 Jun 2024 12:00:00 GMT</pubDate>"
            f"<description><![CDATA[{paragraph * 20}]]></description></item>"
        )
        items.append(item)
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour works</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _serve(files: list[str], connection: multiprocessing.connection.Connection) -> None:
    from aiohttp import web

    from tests.fakes.source_server import SourceServer

    bodies = [Path(name).read_bytes() for name in files]
    state = {"mode": "changing"}

    async def main() -> None:
        async with SourceServer() as server:
            for source in range(SOURCES):
                server.route(f"/s/{source}", _handler(source, bodies, state))
            big = {"version": 1000}

            async def big_feed(request: web.Request) -> web.Response:
                big["version"] += 1
                body = _big_feed(big["version"])
                return web.Response(body=body, content_type="application/rss+xml")

            async def control(request: web.Request) -> web.Response:
                state["mode"] = request.query["mode"]
                return web.Response(text="ok")

            server.route("/big", big_feed)
            server.route("/control", control)
            connection.send(server.port)
            await asyncio.Event().wait()

    asyncio.run(main())


def _handler(source: int, bodies: list[bytes], state: dict[str, str]) -> Callable:
    from aiohttp import web

    base = bodies[source % len(bodies)]
    served = {"count": 0, "version": 0}
    uses_etag = source % 2 == 0

    async def handler(request: web.Request) -> web.Response:
        served["count"] += 1
        count = served["count"]
        if state["mode"] == "changing" and count > 1 and (source + count) % 5 == 0:
            served["version"] += 1
        version = served["version"]
        etag = f'"{source}-{version}"'
        headers = {"ETag": etag} if uses_etag else {}
        if uses_etag and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        body = _changed_body(base, version, source) if version else base
        kind = "application/json" if base.lstrip()[:1] in (b"{", b"[") else "text/html"
        if b"<rss" in base[:500] or b"<feed" in base[:500] or b"<rdf" in base[:500].lower():
            kind = "application/xml"
        return web.Response(body=body, headers=headers, content_type=kind)

    return handler


def _fixture_files() -> list[str]:
    """The shared fixtures that extract cleanly (a broken one would only measure failures)."""
    found = []
    for folder in ("liveblog", "feeds"):
        for path in sorted((FIXTURES / folder).iterdir()):
            try:
                extract(path.read_bytes())
            except BulletinError:
                continue
            found.append(str(path))
    return found


# --- the poller side --------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _round(poller: Poller, clock: Clock, count: int) -> tuple[float, float]:
    """Make every source due, poll them all; (wall s, CPU s)."""
    clock.now += timedelta(hours=2)
    target = poller.polls + count
    wall, cpu = time.perf_counter(), time.process_time()
    while poller.polls < target:
        await poller.run_once()
        await asyncio.sleep(0.01)
    return time.perf_counter() - wall, time.process_time() - cpu


async def _control(session, port: int, mode: str) -> None:
    async with session.get(f"http://127.0.0.1:{port}/control?mode={mode}") as response:
        await response.read()


async def _bench(port: int, directory: Path, rss_before: float) -> None:
    polling = PollingConfig(
        concurrency=32, per_host=32, timeout=20.0, allow_private_addresses=(f"127.0.0.1:{port}",)
    )
    config = Config(polling=polling, database=DatabaseConfig(directory / "bench.db"))
    store = await open_store(config.database.path)
    session = open_session(polling.fetch_limits())
    clock = Clock()
    try:
        runtime = Runtime(
            config, store, Fetcher(session, polling.fetch_limits()), AsyncIOScheduler(timezone=UTC)
        )
        ids: dict[str, int] = {}
        for source in range(SOURCES):
            story = await store.ensure_story(f"Story {source}", now=clock.now)
            url = f"http://127.0.0.1:{port}/s/{source}"
            ids[url] = await store.add_source(story, url, now=clock.now)
            await store.subscribe(story, guild_id=None, channel_id=None, now=clock.now)

        # Response received → change stored, measured around the real calls.
        received: dict[str, float] = {}
        latencies: list[float] = []
        fetch, record_poll = runtime.fetcher.fetch, store.record_poll
        urls = {source_id: url for url, source_id in ids.items()}

        async def timed_fetch(url: str, **kwargs: object):
            result = await fetch(url, **kwargs)  # type: ignore[arg-type]
            received[url] = time.perf_counter()
            return result

        async def timed_record(record: PollRecord) -> None:
            await record_poll(record)
            if record.deliveries:
                latencies.append(time.perf_counter() - received[urls[record.source_id]])

        runtime.fetcher.fetch = timed_fetch  # type: ignore[method-assign]
        store.record_poll = timed_record  # type: ignore[method-assign]
        poller = Poller(runtime, clock=clock, rng=random.Random(1))

        baseline_wall, baseline_cpu = await _round(poller, clock, SOURCES)
        await _control(session, port, "still")
        still = [await _round(poller, clock, SOURCES) for _ in range(STILL_ROUNDS)]
        await _control(session, port, "changing")
        latencies.clear()
        changing = [await _round(poller, clock, SOURCES) for _ in range(CHANGING_ROUNDS)]

        # One big feed, changed at every poll.
        story = await store.ensure_story("Big feed", now=clock.now)
        big = await store.add_source(story, f"http://127.0.0.1:{port}/big", now=clock.now)
        urls[big] = f"http://127.0.0.1:{port}/big"
        big_cpu = []
        for _ in range(BIG_POLLS + 1):
            record = await store.get_source(big)
            started = time.process_time()
            await poller.poll_source(record)
            big_cpu.append(time.process_time() - started)
        big_cpu = big_cpu[1:]  # the first poll is the baseline
        failures = await store._query_one("SELECT count(*) FROM sources WHERE failures > 0")
    finally:
        await session.close()
        await store.close()

    polls = SOURCES * CHANGING_ROUNDS
    wall = sum(w for w, _ in changing)
    cpu = sum(c for _, c in changing)
    still_cpu = sum(c for _, c in still) / (SOURCES * STILL_ROUNDS)
    # CPU of the changed polls alone: the changing rounds' CPU minus their unchanged share.
    changed_share = 0.2
    changed_cpu = (cpu / polls - (1 - changed_share) * still_cpu) / changed_share
    latencies.sort()
    rows = [
        ["sources polled per minute (20 % changing)", f"{polls / wall * 60:,.0f}"],
        ["process CPU over that wall time", f"{cpu / wall:.0%} of one core"],
        ["CPU per unchanged poll (half 304, half same body)", f"{still_cpu * 1000:.2f} ms"],
        ["CPU per changed poll (fixture mix, derived)", f"{changed_cpu * 1000:.2f} ms"],
        ["CPU per changed 250 KB feed (median)", f"{statistics.median(big_cpu) * 1000:.2f} ms"],
        [
            "first round (baselines, every body parsed)",
            f"{baseline_cpu / SOURCES * 1000:.2f} ms CPU/poll",
        ],
        ["response received → change stored, p50", f"{_pct(latencies, 50) * 1000:.1f} ms"],
        ["response received → change stored, p99", f"{_pct(latencies, 99) * 1000:.1f} ms"],
        ["peak RSS", f"{_rss_mb():.0f} MB ({rss_before:.0f} MB before the sources)"],
        ["sources with failures", str(failures[0] if failures else "?")],
    ]
    print(table(["measure", "value"], rows))
    print(
        f"\n{SOURCES:,} sources, {CHANGING_ROUNDS} changing and {STILL_ROUNDS} still rounds; "
        f"{len(latencies):,} changes timed; baseline round {baseline_wall:.1f} s wall."
    )


def _pct(values: list[float], percent: int) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(percent / 100 * (len(values) - 1)))]


def run() -> None:
    print("## Polling: 1,000 sources on a local server\n")
    files = _fixture_files()
    if not files:
        print(f"(skipped: no fixtures at {FIXTURES})")
        return
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(files, child), daemon=True)
    server.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the benchmark's source server did not start")
        port = parent.recv()
        rss_before = _rss_mb()
        with tempfile.TemporaryDirectory(prefix="bulletin-bench-") as directory:
            asyncio.run(_bench(port, Path(directory), rss_before))
    finally:
        server.terminate()
        server.join(5)
