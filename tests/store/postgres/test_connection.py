"""PostgreSQL that cannot be reached, or goes away: one line at start (exit 2), and a wait and
a reconnect later, with nothing lost and nothing posted twice. A password is never shown.

The restarts happen on a private cluster of the test's own (`tests.postgres.Cluster`), so that
no other test is disturbed."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator
from datetime import timedelta

import asyncpg
import pytest

from bot.model import NewEntry, StoryStatus
from bot.outcome import Sent
from bot.store import StalePoll, StoreError, open_store
from bot.store.poll_record import PollOutcome, PollRecord
from tests import postgres
from tests.builders import T0, entry, poll, snap

PASSWORD = "hunter2-s3cret"


@pytest.fixture(scope="module")
def cluster() -> Iterator[postgres.Cluster]:
    made = postgres.Cluster()
    try:
        made.init()
        made.start()
        yield made
    finally:
        made.remove()


async def test_an_unreachable_server_at_start_is_one_line_naming_host_and_what_to_check():
    port = postgres.free_port()
    with pytest.raises(StoreError) as raised:
        await open_store(f"postgresql://bulletin:{PASSWORD}@127.0.0.1:{port}/news")
    message = str(raised.value)
    assert message.startswith(f"cannot reach PostgreSQL at 127.0.0.1:{port} (connection refused)")
    assert "check that the server is running" in message and "BULLETIN_DATABASE_URL" in message
    assert "\n" not in message and PASSWORD not in message


async def test_a_missing_database_says_to_create_it():
    await postgres.require_server()
    url = postgres.url_of(postgres.unique_name("absent"))
    with pytest.raises(StoreError, match=r"has no database .*: create it"):
        await open_store(url)


async def test_bulletin_run_exits_2_with_one_line_when_postgresql_is_unreachable(tmp_path):
    port = postgres.free_port()
    env = {**os.environ, "BULLETIN_DATABASE_URL": f"postgresql://u:{PASSWORD}@127.0.0.1:{port}/x"}
    env.pop("DISCORD_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    last = err.decode().splitlines()[-1]
    assert last.startswith(f"bulletin run: cannot reach PostgreSQL at 127.0.0.1:{port} (")
    assert "Traceback" not in err.decode() and PASSWORD not in (out + err).decode()


async def test_two_writers_planning_from_one_state_record_it_once(cluster):
    """Two processes' stores: the second poll planned from the same version is stale."""
    admin = await asyncpg.connect(cluster.url())
    name = postgres.unique_name("writers")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = cluster.url(name)
    first, second = await open_store(url), await open_store(url)
    try:
        story = await first.ensure_story("S", now=T0)
        source = await first.add_source(story, "https://example.org/s", now=T0)
        planned = await second.get_source(source)
        record = PollRecord(
            source_id=source,
            version=planned.version,
            outcome=PollOutcome.NOT_MODIFIED,
            now=T0,
            next_check=T0 + timedelta(minutes=1),
            status=StoryStatus.LIVE,
        )
        results = await asyncio.gather(
            first.record_poll(record), second.record_poll(record), return_exceptions=True
        )
        assert sorted(type(r).__name__ for r in results) == ["NoneType", "StalePoll"]
        assert (await first.get_source(source)).version == planned.version + 1
        with pytest.raises(StalePoll):
            await second.record_poll(record)
    finally:
        await first.close()
        await second.close()


async def test_a_restarted_server_mid_run_loses_nothing_and_posts_nothing_twice(cluster, caplog):
    caplog.set_level(logging.INFO)
    admin = await asyncpg.connect(cluster.url())
    name = postgres.unique_name("restart")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    store = await open_store(cluster.url(name, password=PASSWORD))
    posted: list[str] = []
    try:
        story = await store.ensure_story("S", now=T0)
        source = await store.add_source(story, "https://example.org/s", now=T0)
        await store.subscribe(story, guild_id=1, channel_id=10, now=T0)
        await poll(store, source, snap(entry(0)))
        count = 60
        restarted = asyncio.Event()

        async def run() -> None:
            """Polls that each find one new update, and the delivery of each row."""
            for n in range(1, count + 1):
                now = T0 + timedelta(minutes=n)
                page = snap(*(entry(k) for k in range(max(0, n - 5), n + 1)))
                changes = await poll(store, source, page, now=now)
                assert changes == (NewEntry(entry(n)),)
                for row in await store.pending_deliveries(now):
                    await store.claim([((row.id,), row.nonce, 0)], now=now)
                    await store.record_delivery([row], Sent(1000 + n, 10), now=now)
                    posted.append(row.entry_id)
                if n == 10:
                    restarted.set()
                await asyncio.sleep(0.02)

        running = asyncio.ensure_future(run())
        await restarted.wait()
        await asyncio.to_thread(cluster.stop, "fast")  # calls in flight lose their connection
        await asyncio.sleep(1.0)  # and the next ones find nobody for a while
        await asyncio.to_thread(cluster.start)
        await asyncio.sleep(0.3)
        await asyncio.to_thread(cluster.stop, "immediate")  # as a crash: no goodbye at all
        await asyncio.to_thread(cluster.start)
        await asyncio.wait_for(running, 120)
        assert posted == [f"e{n}" for n in range(1, count + 1)]
        assert await store.pending_deliveries(T0 + timedelta(days=1)) == []
        history = await store.delivery_history(1, limit=1000)
        assert sorted(a.entry_id for a in history) == sorted(posted)  # each attempt once
    finally:
        await store.close()
    assert "lost the connection to PostgreSQL at 127.0.0.1" in caplog.text
    assert "answers again" in caplog.text
    assert PASSWORD not in caplog.text


async def test_a_mistake_in_a_statement_is_raised_at_once_never_waited_out(cluster):
    """Only a lost connection is waited for: an error of the statement itself is not."""
    admin = await asyncpg.connect(cluster.url())
    name = postgres.unique_name("mistake")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    store = await open_store(cluster.url(name))
    try:
        with pytest.raises(asyncpg.InterfaceError, match="expects 1 argument"):
            await asyncio.wait_for(store._fetchval("SELECT $1::int", 1, 2), 5)
        with pytest.raises(asyncpg.UndefinedColumnError):
            await asyncio.wait_for(store._fetchval("SELECT no_such_column"), 5)
        assert await store._fetchval("SELECT 1") == 1  # and the pool works on
    finally:
        await store.close()


async def test_a_held_connection_whose_server_process_ends_mid_transaction_is_run_again():
    """The server process behind a held connection ends mid-transaction (an administrator's
    pg_terminate_backend, a crash of that process): asyncpg's pool takes the connection back at
    once, so even asking it whether it is closed raises. The transaction rolled back with it,
    so the work is run again on a new connection, and it happens once."""
    async with postgres.fresh_database() as url:
        store = await open_store(url)
        admin = await asyncpg.connect(url)
        runs: list[int] = []
        try:
            await store._fetchval("CREATE TABLE marks (n int)")

            async def work(connection: asyncpg.Connection) -> int:
                runs.append(connection.get_server_pid())
                await connection.execute("INSERT INTO marks VALUES (1)")
                if len(runs) == 1:
                    await admin.execute("SELECT pg_terminate_backend($1)", runs[0])
                    await asyncio.sleep(0.2)  # its goodbye reaches the pool
                return int(await connection.fetchval("SELECT count(*) FROM marks"))

            assert await asyncio.wait_for(store._run(work, transaction=True, applied=None), 30) == 1
            assert len(runs) == 2 and runs[0] != runs[1]
            assert await store._fetchval("SELECT count(*) FROM marks") == 1
        finally:
            await admin.close()
            await store.close()
