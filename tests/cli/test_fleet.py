"""`bulletin run` processes of a fleet on one PostgreSQL database, in console mode (no Discord:
the leases, the delivery election and the database are what is tested, and console processes
start fast): started together on an empty database, they migrate it once and all run; a poll
whose lease expired while its process was stopped (SIGSTOP: slow, not dead) is taken over, and
the late holder records and posts nothing; PostgreSQL restarted mid-run (a private cluster) loses
nothing and posts nothing twice, and the password in the URL is never printed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiohttp import web

from bot.store.postgres.migrate import LATEST
from tests import postgres
from tests.cli.process import Bulletin
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update

NOW = datetime.now(UTC)
KEY_POINT = "The harbour opens at ten"
PASSWORD = "fleet-s3cret-pw"


def recent(n: int) -> dict[str, object]:
    return update(n, at=NOW - timedelta(minutes=30 - n))


def page(count: int) -> bytes:
    return live_page(*(recent(n) for n in range(1, count + 1)), key_points=(KEY_POINT,))


def config(directory: Path, name: str, url: str, server: SourceServer, **polling: object) -> Path:
    settings = {"interval": 2, "min_interval": 1, "timeout": 10, "lease": 2, **polling}
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
    path = directory / f"{name}.toml"
    path.write_text(
        f"""
[database]
url = "{url}"

[polling]
{lines}allow_private_addresses = ["{server.host_port}"]

[[stories]]
name = "Harbour festival"
sources = ["{server.url("/live")}"]
""",
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def fleet(
    directory: Path, url: str, server: SourceServer, count: int, **polling: object
) -> AsyncIterator[list[Bulletin]]:
    """COUNT console processes on URL, started together."""
    configs = [config(directory, f"p{n}", url, server, **polling) for n in range(count)]
    processes = [Bulletin("run", "--config", str(path), cwd=directory) for path in configs]
    async with contextlib.AsyncExitStack() as stack:
        await asyncio.gather(*(stack.enter_async_context(p) for p in processes))
        yield processes


async def until(processes: list[Bulletin], done: Callable[[], bool], within: float = 30) -> None:
    try:
        async with asyncio.timeout(within):
            while not done():
                for process in processes:
                    assert process.returncode is None, process.err[-3000:]
                await asyncio.sleep(0.05)
    except TimeoutError:
        logs = "\n".join(f"--- {p.out[-1500:]}\n{p.err[-2500:]}" for p in processes)
        raise AssertionError(f"never happened:\n{logs}") from None


def printed(processes: list[Bulletin], text: str) -> int:
    return sum(process.out.count(text) for process in processes)


async def scalar(url: str, sql: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def test_processes_started_together_on_an_empty_database_migrate_it_once(tmp_path):
    async with SourceServer() as server, postgres.fresh_database() as url:
        server.page("/live", page(1))
        async with fleet(tmp_path, url, server, 4) as processes:
            await until(processes, lambda: all("is following" in p.out for p in processes))
            applied = await scalar(url, "SELECT count(*) FROM schema_migrations")
            await until_true(url, "SELECT last_polled IS NOT NULL FROM sources")  # a baseline
            server.page("/live", page(2))
            await until(processes, lambda: printed(processes, "Harbour festival update 2") == 1)
            await asyncio.sleep(1)  # and by no other process
            assert printed(processes, "Harbour festival update 2") == 1
            statuses = [await p.stop(signal.SIGTERM) for p in processes]
    assert applied == LATEST
    assert statuses == [0] * 4
    for process in processes:
        assert "Traceback" not in process.err, process.err


async def test_a_slow_holder_whose_lease_was_taken_over_records_and_posts_nothing(tmp_path):
    held = asyncio.Event()  # the first fetch of the new page waits for this
    asked: list[float] = []
    body = {"page": page(1)}

    async def live(_request: web.Request) -> web.Response:
        asked.append(asyncio.get_running_loop().time())
        if len(asked) == 1 and body["page"] != page(1):
            await held.wait()
        return web.Response(body=body["page"], content_type="text/html")

    async with SourceServer() as server, postgres.fresh_database() as url:
        server.route("/live", live)
        async with fleet(tmp_path, url, server, 2, interval=6) as processes:
            await until(processes, lambda: all("is following" in p.out for p in processes))
            await until_true(url, "SELECT last_polled IS NOT NULL FROM sources")  # a baseline
            asked.clear()
            body["page"] = page(2)
            await until(processes, lambda: len(asked) == 1)  # a poll of the new page hangs
            owner = str(await scalar(url, "SELECT lease_owner FROM sources"))
            [slow] = [p for p in processes if p.pid == int(owner.split(":")[1])]
            os.kill(slow.pid, signal.SIGSTOP)  # slow: it renews nothing, answers nothing
            try:
                # its lease expires; the other takes the source over and records the update
                await until([], lambda: len(asked) >= 2, within=20)
                await until_true(url, f"SELECT lease_owner != '{owner}' AND lease_until IS NULL"
                                 " FROM sources")  # fmt: skip
                polled = await scalar(url, "SELECT (version, last_polled)::text FROM sources")
            finally:
                os.kill(slow.pid, signal.SIGCONT)
            held.set()  # the late holder's fetch answers now
            await until(processes, lambda: "lease was taken over" in slow.err, within=20)
            assert await scalar(url, "SELECT (version, last_polled)::text FROM sources") == polled
            await until(processes, lambda: printed(processes, "Harbour festival update 2") == 1)
            await asyncio.sleep(1)
            assert printed(processes, "Harbour festival update 2") == 1
            statuses = [await p.stop(signal.SIGTERM) for p in processes]
    assert statuses == [0, 0]
    assert all("Traceback" not in p.err for p in processes)


async def until_true(url: str, sql: str, within: float = 20) -> None:
    async with asyncio.timeout(within):
        while not await scalar(url, sql):  # noqa: ASYNC110 - the database has no event
            await asyncio.sleep(0.1)


async def test_postgresql_restarted_mid_run_loses_nothing_and_posts_nothing_twice(tmp_path):
    cluster = postgres.Cluster()  # of this test's own: restarting it disturbs no other test
    try:
        await asyncio.to_thread(cluster.init)
        await asyncio.to_thread(cluster.start)
        await scalar(cluster.url(), 'CREATE DATABASE "fleet"')
        url = cluster.url("fleet", password=PASSWORD)  # trust: any password is taken
        async with SourceServer() as server:
            server.page("/live", page(1))
            async with fleet(tmp_path, url, server, 2, interval=1) as processes:
                await until(processes, lambda: all("is following" in p.out for p in processes))
                await until_true(url, "SELECT last_polled IS NOT NULL FROM sources")
                for count in range(2, 8):
                    server.page("/live", page(count))
                    await asyncio.sleep(1.0)
                    if count == 4:
                        await asyncio.to_thread(cluster.stop, "fast")  # sessions cut
                        await asyncio.sleep(1.5)  # and nobody answers for a while
                        await asyncio.to_thread(cluster.start)
                updates = [f"Harbour festival update {n}" for n in range(2, 8)]
                await until(processes, lambda: all(printed(processes, u) for u in updates), 60)
                await asyncio.sleep(1)
                statuses = [await p.stop(signal.SIGTERM) for p in processes]
    finally:
        await asyncio.to_thread(cluster.remove)
    assert [printed(processes, u) for u in updates] == [1] * len(updates)
    for process in processes:  # each printed its share in order
        shown = [process.out.index(u) for u in updates if u in process.out]
        assert shown == sorted(shown)
    assert statuses == [0, 0]
    logs = "".join(p.out + p.err for p in processes)
    assert "lost the connection to PostgreSQL at 127.0.0.1" in logs
    assert "Traceback" not in logs
    assert PASSWORD not in logs
