"""Fleets: polling by one process on SQLite, one on PostgreSQL and two on PostgreSQL, side by
side in one run, and one update to 2,000 channels delivered by a fleet of two.

Polling: 1,000 sources each (the shared fixtures, read in place, about 20 % changing at every
poll) on a local server in a child process, a route set of its own per fleet so that each
fleet sees the same changes. Each Bulletin process is a child process with the real Poller,
Fetcher, extraction and store, told when a round starts (every source due at once) and
reporting its CPU when nothing is left for it; it picks as its tick would (a pick, then the
poller's own refills as half its room frees). Rounds are interleaved (SQLite, PostgreSQL,
two on PostgreSQL, then again) and medians reported. CPU per poll counts every Bulletin process
of the fleet and every process of the private PostgreSQL cluster (from /proc).

Delivery: two processes on one PostgreSQL database, each a discord.py client with the sink
and the dispatcher, against the fake Discord (50 requests/s global, 5 messages per 5 s per
channel); one update is queued to 2,000 channels and the elected deliverer sends it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from bench.bench_poll import _fixture_files, _handler, cluster_cpu
from bench.common import analyze, table
from tests.postgres import Cluster

SOURCES = 1000
ROUNDS = 3  # changing rounds per fleet, interleaved
STILL_ROUNDS = 2  # rounds where nothing changes
FLEETS = (("SQLite", "sqlite", 1), ("PostgreSQL", "pg1", 1), ("PostgreSQL, 2 processes", "pg2", 2))
CHANNELS = 2000
RATE = 45.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --- the source server (child process) ---------------------------------------------------------


def _serve(files: list[str], connection: Connection) -> None:
    from aiohttp import web

    from tests.fakes.source_server import SourceServer

    bodies = [Path(name).read_bytes() for name in files]
    states = {name: {"mode": "changing"} for _, name, _ in FLEETS}

    async def main() -> None:
        async with SourceServer() as server:
            for name, state in states.items():
                for source in range(SOURCES):
                    server.route(f"/{name}/{source}", _handler(source, bodies, state))

            async def control(request: web.Request) -> web.Response:
                for state in states.values():
                    state["mode"] = request.query["mode"]
                return web.Response(text="ok")

            server.route("/control", control)
            connection.send(server.port)
            await asyncio.Event().wait()

    asyncio.run(main())


# --- one Bulletin process of a fleet (child process) -------------------------------------------


def _poller(target: str, port: int, connection: Connection) -> None:
    asyncio.run(_polling(target, port, connection))


async def _polling(target: str, port: int, connection: Connection) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.config import Config, DatabaseConfig, PollingConfig
    from bot.polling import Poller
    from bot.runtime import Runtime
    from bot.sources.fetch import Fetcher, open_session
    from bot.store import open_store

    polling = PollingConfig(
        concurrency=32, per_host=32, timeout=20.0, allow_private_addresses=(f"127.0.0.1:{port}",)
    )
    database = DatabaseConfig(url=target) if "://" in target else DatabaseConfig(Path(target))
    config = Config(polling=polling, database=database)
    store = await open_store(config.database.target)
    session = open_session(polling.fetch_limits())
    now = {"at": T0}
    runtime = Runtime(
        config, store, Fetcher(session, polling.fetch_limits()), AsyncIOScheduler(timezone=UTC)
    )
    poller = Poller(runtime, clock=lambda: now["at"], rng=random.Random())
    loop = asyncio.get_running_loop()
    try:
        connection.send("ready")
        while (command := await loop.run_in_executor(None, connection.recv)) is not None:
            now["at"] = command
            cpu, polls = time.process_time(), poller.polls
            while True:
                # As the poller's tick drives it: a pick, then refills from the poller itself
                # as half its room frees; a new pick only once it is idle.
                if (
                    not poller.in_flight
                    and not await poller.run_once()
                    and not await store.due_sources(command, 1)
                ):
                    break  # nothing left for this process (the other's are leased to it)
                await asyncio.sleep(0.01)
            connection.send((time.process_time() - cpu, poller.polls - polls))
    finally:
        await session.close()
        await store.close()


async def _add_sources(target: str, port: int, name: str) -> None:
    from bot.store import open_store

    store = await open_store(target)
    try:
        for source in range(SOURCES):
            story = await store.ensure_story(f"Story {source}", now=T0)
            url = f"http://127.0.0.1:{port}/{name}/{source}"
            await store.add_source(story, url, now=T0)
            await store.subscribe(story, guild_id=None, channel_id=None, now=T0)
    finally:
        await store.close()


@dataclass(frozen=True)
class Round:
    wall: float  # seconds
    bulletin: float  # CPU seconds of the fleet's processes
    server: float  # CPU seconds of the PostgreSQL cluster
    polls: int

    def per_poll(self, part: float | None = None) -> float:
        """CPU ms per poll: of PART, else of everything."""
        return (self.bulletin + self.server if part is None else part) / self.polls * 1000


class Fleet:
    """The processes of one fleet, each waiting to be told a round has begun."""

    def __init__(self, target: str, port: int, count: int, server: Callable[[], float]) -> None:
        context = multiprocessing.get_context("spawn")
        self.server = server
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(target=_poller, args=(target, port, child), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)
        for pipe in self.pipes:
            if not pipe.poll(60) or pipe.recv() != "ready":
                raise RuntimeError("a benchmark process did not start")

    def round(self, now: datetime) -> Round:
        """Every source due at NOW, polled by the fleet."""
        wall, server = time.perf_counter(), self.server()
        for pipe in self.pipes:
            pipe.send(now)
        replies = [pipe.recv() for pipe in self.pipes]
        wall = time.perf_counter() - wall
        return Round(
            wall,
            sum(cpu for cpu, _ in replies),
            self.server() - server,
            sum(polls for _, polls in replies),
        )

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for process in self.processes:
            process.join(30)


def _createdb(cluster: Cluster, name: str) -> str:
    async def make() -> None:
        import asyncpg

        connection = await asyncpg.connect(cluster.url())
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(make())
    return cluster.url(name)


def _polling_section(directory: Path, cluster: Cluster) -> None:
    files = _fixture_files()
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    source_server = context.Process(target=_serve, args=(files, child), daemon=True)
    source_server.start()
    fleets: dict[str, Fleet] = {}
    try:
        if not parent.poll(60):
            raise RuntimeError("the benchmark's source server did not start")
        port = parent.recv()
        server_cpu = cluster_cpu(cluster)
        databases: set[str] = set()  # the PostgreSQL ones
        for label, name, count in FLEETS:
            target = str(directory / "bench.db") if name == "sqlite" else _createdb(cluster, name)
            if name != "sqlite":
                databases.add(target)
            asyncio.run(_add_sources(target, port, name))
            meter = (lambda: 0.0) if name == "sqlite" else server_cpu
            fleets[label] = Fleet(target, port, count, meter)
        now = T0
        for fleet in fleets.values():  # the baselines: every body parsed once, not counted
            now += timedelta(hours=2)
            fleet.round(now)
        for url in databases:
            asyncio.run(analyze(url))  # every source has its entries now
        changing: dict[str, list[Round]] = {label: [] for label in fleets}
        still: dict[str, list[Round]] = {label: [] for label in fleets}
        for rounds, mode in ((changing, "changing"), (still, "still")):
            asyncio.run(_control(port, mode))
            for _ in range(ROUNDS if mode == "changing" else STILL_ROUNDS):
                for label, fleet in fleets.items():
                    now += timedelta(hours=2)
                    rounds[label].append(fleet.round(now))
    finally:
        for fleet in fleets.values():
            fleet.close()
        source_server.terminate()
        source_server.join(5)
    _report(changing, still)


async def _control(port: int, mode: str) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/control?mode={mode}") as response,
    ):
        await response.read()


def _report(changing: dict[str, list[Round]], still: dict[str, list[Round]]) -> None:
    def median(rounds: list[Round], measure: Callable[[Round], float]) -> float:
        return statistics.median(measure(r) for r in rounds)

    both = {label: median(rounds, Round.per_poll) for label, rounds in changing.items()}
    rows: list[list[object]] = []
    for label, rounds in changing.items():
        rows.append(
            [
                label,
                f"{median(rounds, lambda r: r.polls / r.wall * 60):,.0f}",
                f"{median(rounds, lambda r: r.per_poll(r.bulletin)):.2f} ms",
                f"{median(rounds, lambda r: r.per_poll(r.server)):.2f} ms",
                f"{both[label]:.2f} ms",
                f"{both[label] / both['SQLite']:.2f}",
                f"{median(still[label], Round.per_poll):.2f} ms",
            ]
        )
    print("## Fleets: polling 1,000 sources at 20 % changing\n")
    headers = ["fleet", "polls per minute", "CPU per poll: Bulletin", "database server",
               "both", "both ÷ SQLite's", "CPU per unchanged poll"]  # fmt: skip
    print(table(headers, rows))
    two, one = both["PostgreSQL, 2 processes"], both["PostgreSQL"]
    print(
        f"\nTwo processes ÷ one on PostgreSQL, CPU per poll: {two / one:.2f}. Medians of "
        f"{ROUNDS} interleaved rounds at 20 % changing ({STILL_ROUNDS} unchanged); CPU counts "
        "every Bulletin process of the fleet and every process of the private PostgreSQL "
        "cluster (initdb, default settings)."
    )


# --- delivery: one update to 2,000 channels, two processes -------------------------------------


def _deliverer(url: str, api: str, gateway: str, token: str, connection: Connection) -> None:
    asyncio.run(_delivering(url, api, gateway, token, connection))


async def _delivering(url: str, api: str, gateway: str, token: str, connection: Connection) -> None:
    import logging

    import discord

    from bot.delivery.discord_sink import DiscordSink
    from bot.delivery.dispatcher import Dispatcher
    from bot.delivery.limiter import ChannelPacer, RateLimiter
    from bot.discord.endpoints import point_discord_at
    from bot.store import open_store

    logging.getLogger("discord").setLevel(logging.ERROR)
    point_discord_at(api, gateway)
    store = await open_store(url)
    pacer = ChannelPacer()
    client = discord.Client(intents=discord.Intents.none(), http_trace=pacer.trace_config())
    await client.login(token)
    sink = DiscordSink(client, store, limiter=RateLimiter(RATE), pacer=pacer)
    dispatcher = Dispatcher(store, {"discord": sink}, rng=random.Random(), concurrency=256)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    connection.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, connection.recv)
    stop.set()
    await task
    await client.close()
    await store.close()
    connection.send((sink.sent, dispatcher.delivering))


async def _delivery_round(cluster: Cluster) -> list[object]:
    from bot.model import Entry, Snapshot, SourceKind
    from bot.polling.pipeline import record_snapshot
    from bot.store import open_store
    from tests.fakes.discord import FakeDiscord
    from tests.fakes.discord_fixtures import BOT_PERMISSIONS

    def entry(n: int) -> Entry:
        return Entry(id=f"u{n}", title=f"Update {n}", text="The river crested overnight.",
                     published=T0 + timedelta(minutes=n))  # fmt: skip

    url = await asyncio.to_thread(_createdb, cluster, "delivery")
    server = FakeDiscord(heartbeat_interval_ms=5000)
    await server.start()
    guild = server.add_guild("Newsroom", bot_permissions=BOT_PERMISSIONS)
    store = await open_store(url)
    story = await store.ensure_story("Harbour flood", guild_id=guild.id, now=T0)
    source = await store.add_source(story, "https://g.example/live", now=T0)
    for _ in range(CHANNELS):
        channel = server.add_channel(guild, "news")
        await store.subscribe(story, guild_id=guild.id, channel_id=channel.id, now=T0)
    rng = random.Random(1)
    live = SourceKind.LIVEBLOG
    await record_snapshot(store, source, Snapshot(live, entries=(entry(0),)), now=T0, rng=rng)
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for _ in range(2):
        parent, child = context.Pipe()
        args = (url, server.api_base, server.gateway_url, server.token, child)
        process = context.Process(target=_deliverer, args=args, daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)
    for pipe in pipes:
        await asyncio.to_thread(pipe.recv)
    await asyncio.sleep(2.0)  # one of them elected, and settled
    queued = time.perf_counter()
    snapshot = Snapshot(live, entries=(entry(0), entry(1)))
    await record_snapshot(store, source, snapshot, now=T0 + timedelta(minutes=2), rng=rng)
    announcer = store.delivery_election()  # as the process whose poll queued the rows does
    await announcer.announce()
    await announcer.resign()
    while len(server.records) < CHANNELS:  # noqa: ASYNC110 - the fake has no event for it
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - queued
    first, last = server.records[0].at, server.records[-1].at
    for pipe in pipes:
        pipe.send("stop")
    replies = [await asyncio.to_thread(pipe.recv) for pipe in pipes]
    for process in processes:
        process.join(30)
    await store.close()
    hits = server.limits.hits
    await server.close()
    floor = CHANNELS / RATE
    sent = [sent for sent, _ in replies]
    return [
        CHANNELS,
        "+".join(map(str, sent)),
        f"{elapsed:.1f}",
        f"{last - first + 1 / RATE:.1f}",
        f"{floor:.1f}",
        f"{(last - first + 1 / RATE) / floor * 100 - 100:+.1f}%",
        hits,
    ]


def run() -> None:
    import tempfile

    cluster = Cluster()
    try:
        cluster.init()
        cluster.start(fast=False)
        with tempfile.TemporaryDirectory(prefix="bulletin-bench-") as directory:
            _polling_section(Path(directory), cluster)
        row = asyncio.run(_delivery_round(cluster))
    finally:
        cluster.remove()
    print("\n## Fleets: one update to 2,000 channels, two processes on PostgreSQL\n")
    headers = ["channels", "messages (each process)", "seconds from queued", "first to last",
               "floor (s)", "over floor", "429s"]  # fmt: skip
    print(table(headers, [row]))
    print(
        "\nOne process holds the delivery election and sends everything at [delivery] rate "
        f"({RATE:.0f}/s); the other sends nothing. The rows are written by a third process, "
        "which announces them to the deliverer as a poller's process does (NOTIFY)."
    )


if __name__ == "__main__":
    run()
