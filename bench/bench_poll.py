"""Polling: 1,000 sources on a local SourceServer (the shared fixture pages and feeds, read in
place), about 20 % changing each round, through the real Poller, Fetcher, extraction and store,
once on SQLite and once on PostgreSQL, side by side in one run.

Prints sources polled per minute (wall time, with the process's CPU over that wall time),
CPU ms per unchanged and per changed poll, peak RSS, and p50/p99 from response received to
change stored. The server runs in a child process so that its CPU is not counted. All sources
share one host here (127.0.0.1), so the per-host limit is raised to the global one.

PostgreSQL runs as a private cluster of the benchmark's own (initdb, default settings, a free
port: `tests.postgres.Cluster`), so that every one of its processes works for this benchmark
alone: their CPU (from /proc) is the server's share, added to Bulletin's for CPU per poll.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bench.common import FIXTURES, analyze, table
from bench.hosts import run_hosts
from bot.config import Config, DatabaseConfig, PollingConfig
from bot.errors import BulletinError
from bot.polling import Poller
from bot.runtime import Runtime
from bot.sources.extract import extract
from bot.sources.fetch import Fetcher, open_session
from bot.store import PollRecord, open_store
from tests.postgres import Cluster

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


def _no_server() -> float:
    return 0.0


def cluster_cpu(cluster: Cluster) -> Callable[[], float]:
    """CPU seconds used so far by every process of CLUSTER (the postmaster and its children,
    living or gone: a process's own time plus what its waited-for children used)."""
    ticks = os.sysconf("SC_CLK_TCK")
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])

    def read() -> float:
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", encoding="ascii") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except OSError:
                continue  # gone meanwhile
            pid, ppid = int(entry.name), int(fields[1])
            if pid == postmaster:  # its own time and that of its children that ended
                total += sum(int(value) for value in fields[11:15])
            elif ppid == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    return read


async def _round(
    poller: Poller, clock: Clock, count: int, server: Callable[[], float]
) -> tuple[float, float, float]:
    """Make every source due, poll them all; (wall s, CPU s, database server CPU s)."""
    clock.now += timedelta(hours=2)
    target = poller.polls + count
    wall, cpu, server_cpu = time.perf_counter(), time.process_time(), server()
    while poller.polls < target:
        await poller.run_once()
        await asyncio.sleep(0.01)
    return time.perf_counter() - wall, time.process_time() - cpu, server() - server_cpu


async def _control(session, port: int, mode: str) -> None:
    async with session.get(f"http://127.0.0.1:{port}/control?mode={mode}") as response:
        await response.read()


async def _bench(
    port: int, database: DatabaseConfig, rss_before: float, server: Callable[[], float]
) -> dict[str, str]:
    polling = PollingConfig(
        concurrency=32, per_host=32, timeout=20.0, allow_private_addresses=(f"127.0.0.1:{port}",)
    )
    config = Config(polling=polling, database=database)
    store = await open_store(config.database.target)
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

        baseline_wall, baseline_cpu, baseline_server = await _round(poller, clock, SOURCES, server)
        if database.url is not None:
            await analyze(database.url)  # every source has its entries now
        await _control(session, port, "still")
        still = [await _round(poller, clock, SOURCES, server) for _ in range(STILL_ROUNDS)]
        await _control(session, port, "changing")
        latencies.clear()
        changing = [await _round(poller, clock, SOURCES, server) for _ in range(CHANGING_ROUNDS)]

        # One big feed, changed at every poll.
        story = await store.ensure_story("Big feed", now=clock.now)
        big = await store.add_source(story, f"http://127.0.0.1:{port}/big", now=clock.now)
        urls[big] = f"http://127.0.0.1:{port}/big"
        big_cpu = []
        for _ in range(BIG_POLLS + 1):
            record = await store.get_source(big)
            started, server_started = time.process_time(), server()
            await poller.poll_source(record)
            big_cpu.append(time.process_time() - started + server() - server_started)
        big_cpu = big_cpu[1:]  # the first poll is the baseline
        failures = await store._query_one("SELECT count(*) FROM sources WHERE failures > 0")
    finally:
        await session.close()
        await store.close()

    polls = SOURCES * CHANGING_ROUNDS
    wall = sum(w for w, _, _ in changing)
    cpu = sum(c for _, c, _ in changing)
    server_cpu = sum(c for _, _, c in changing)
    still_cpu = sum(c + d for _, c, d in still) / (SOURCES * STILL_ROUNDS)
    # CPU of the changed polls alone: the changing rounds' CPU minus their unchanged share.
    changed_share = 0.2
    changed_cpu = ((cpu + server_cpu) / polls - (1 - changed_share) * still_cpu) / changed_share
    latencies.sort()
    return {
        "sources polled per minute (20 % changing)": f"{polls / wall * 60:,.0f}",
        "Bulletin's CPU over that wall time": f"{cpu / wall:.0%} of one core",
        "CPU per poll, 20 % changing: Bulletin": f"{cpu / polls * 1000:.2f} ms",
        "CPU per poll, 20 % changing: database server": f"{server_cpu / polls * 1000:.2f} ms",
        "CPU per poll, 20 % changing: both": f"{(cpu + server_cpu) / polls * 1000:.2f} ms",
        "CPU per unchanged poll (half 304, half same body)": f"{still_cpu * 1000:.2f} ms",
        "CPU per changed poll (fixture mix, derived)": f"{changed_cpu * 1000:.2f} ms",
        "CPU per changed 250 KB feed (median)": f"{statistics.median(big_cpu) * 1000:.2f} ms",
        "first round (baselines, every body parsed)": (
            f"{(baseline_cpu + baseline_server) / SOURCES * 1000:.2f} ms CPU/poll"
        ),
        "response received → change stored, p50": f"{_pct(latencies, 50) * 1000:.1f} ms",
        "response received → change stored, p99": f"{_pct(latencies, 99) * 1000:.1f} ms",
        "peak RSS of Bulletin's process": f"{_rss_mb():.0f} MB ({rss_before:.0f} MB before)",
        "sources with failures": str(failures[0] if failures else "?"),
        "_changing": f"{(cpu + server_cpu) / polls}",
        "_baseline_wall": f"{baseline_wall:.1f}",
        "_timed": f"{len(latencies)}",
    }


def _pct(values: list[float], percent: int) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(percent / 100 * (len(values) - 1)))]


def _createdb(cluster: Cluster) -> None:
    async def make() -> None:
        import asyncpg

        connection = await asyncpg.connect(cluster.url())
        try:
            await connection.execute("CREATE DATABASE bench")
        finally:
            await connection.close()

    asyncio.run(make())


def run() -> None:
    # BULLETIN_BENCH_POLL: "stores" (SQLite and PostgreSQL) or "hosts" (beside `reader`) only
    part = os.environ.get("BULLETIN_BENCH_POLL", "")
    if part != "hosts":
        _run_stores()
    if part != "stores":
        run_hosts()


def _run_stores() -> None:
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
        results: dict[str, dict[str, str]] = {}
        with tempfile.TemporaryDirectory(prefix="bulletin-bench-") as directory:
            sqlite = DatabaseConfig(Path(directory) / "bench.db")
            results["SQLite"] = asyncio.run(_bench(port, sqlite, rss_before, _no_server))
        cluster = Cluster()
        try:
            cluster.init()
            cluster.start(fast=False)
            _createdb(cluster)
            # BULLETIN_BENCH_PG_QUERY: settings for Bulletin's sessions, as the URL's query
            # (e.g. "?synchronous_commit=off")
            query = os.environ.get("BULLETIN_BENCH_PG_QUERY", "")
            postgresql = DatabaseConfig(url=cluster.url("bench") + query)
            results["PostgreSQL"] = asyncio.run(
                _bench(port, postgresql, rss_before, cluster_cpu(cluster))
            )
        finally:
            cluster.remove()
        measures = [name for name in results["SQLite"] if not name.startswith("_")]
        rows = [[name, results["SQLite"][name], results["PostgreSQL"][name]] for name in measures]
        ratio = float(results["PostgreSQL"]["_changing"]) / float(results["SQLite"]["_changing"])
        rows.append(["CPU per poll (both), PostgreSQL ÷ SQLite", "1", f"{ratio:.2f}"])
        print(table(["measure", "SQLite", "PostgreSQL"], rows))
        print(
            f"\n{SOURCES:,} sources, {CHANGING_ROUNDS} changing and {STILL_ROUNDS} still rounds "
            "each; one process at a time. PostgreSQL's share is the CPU of every process of a "
            "private cluster (initdb, default settings) serving only this benchmark."
        )
    finally:
        server.terminate()
        server.join(5)
