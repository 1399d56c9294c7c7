"""Two dispatchers on one PostgreSQL database, as two processes of a fleet: only the holder of
the delivery election sends; when it loses the election (its session cut, as when its process
dies) it stops before its next send and the other takes over, each row sent once, in order.
Digests ticked by both are written once per subscription and period."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from bot.delivery.digest import Digests
from bot.delivery.dispatcher import ELECTION_RETRY, SETTLE_SECONDS, Dispatcher
from bot.delivery.sinks import one_unit_per_row
from bot.model import DeliveryKind, Mode
from bot.outcome import Sent
from bot.store import Store, open_store
from tests import postgres
from tests.builders import T0, Clock, poll
from tests.delivery.test_dispatcher import outbox_with_updates, snapshot
from tests.store.test_election import lock_holders


class SlowSink:
    """Records (who sent, what) for every row, taking a while over each send."""

    def __init__(self, name: str, sent: list[tuple[str, str | None]]) -> None:
        self.name = name
        self.sent = sent

    def plan(self, rows, sub):
        return one_unit_per_row(rows)

    async def send(self, unit, sub, later):
        await asyncio.sleep(0.05)
        self.sent.append((self.name, unit.rows[0].entry_id))
        return Sent(len(self.sent))


@pytest.fixture
async def stores() -> AsyncIterator[tuple[Store, Store]]:
    async with postgres.fresh_database() as url:
        one, two = await open_store(url), await open_store(url)
        try:
            yield one, two
        finally:
            await one.close()
            await two.close()


async def until(predicate, within: float) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - rows sent are seen in a list
            await asyncio.sleep(0.01)


async def test_one_process_delivers_and_the_other_takes_over_when_its_session_dies(stores):
    one, two = stores
    story = await outbox_with_updates(one, 20)
    sent: list[tuple[str, str | None]] = []
    stop = asyncio.Event()
    a = Dispatcher(one, {"console": SlowSink("a", sent)}, idle=0.2)
    b = Dispatcher(two, {"console": SlowSink("b", sent)}, idle=0.2)
    tasks = [asyncio.create_task(a.run(stop)), asyncio.create_task(b.run(stop))]
    try:
        await until(lambda: len(sent) >= 5, within=10)
        holder = a if a.delivering else b
        assert [d.delivering for d in (a, b)].count(True) == 1
        [pid] = await lock_holders(postgres_url(one))
        admin = await asyncpg.connect(postgres_url(one))
        await admin.fetchval("SELECT pg_terminate_backend($1)", pid)  # its process "dies"
        await admin.close()
        cut_at = len(sent)
        # it stops before its next send (the one in flight may still land)
        await until(lambda: not holder.delivering, within=2)
        assert len(sent) <= cut_at + 1
        await until(lambda: len(sent) == 21, within=10 + ELECTION_RETRY + SETTLE_SECONDS)
        # more updates later: the new holder sends them
        source = (await one.sources_of_story(story))[0].id
        await poll(one, source, snapshot(23, ("Ferries run",)), T0 + timedelta(minutes=2))
        await until(lambda: len(sent) == 23, within=10)
        assert [d.delivering for d in (a, b)].count(True) == 1  # whichever asked first
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    expected = [None, *(f"u{n}" for n in range(1, 24))]  # the key points, then each update
    assert [what for _, what in sent] == expected
    assert await one.pending_deliveries(T0 + timedelta(days=1)) == []


async def test_a_stopped_dispatcher_gives_the_election_up_at_once(stores):
    one, two = stores
    a, b = Dispatcher(one, {}), Dispatcher(two, {})
    stop = asyncio.Event()
    task = asyncio.create_task(a.run(stop))
    await until(lambda: a.delivering, within=5)
    assert await b.drain() == 0 and not b.delivering
    stop.set()
    await task
    assert await lock_holders(postgres_url(one)) == []
    await b.drain()
    assert b.delivering


def postgres_url(store: Store) -> str:
    return store._url  # type: ignore[attr-defined]  # the test's own database


async def test_digests_ticked_by_two_processes_at_once_are_written_once_per_period(stores):
    one, two = stores
    story = await one.ensure_story("Ferries", now=T0)
    source = await one.add_source(story, "https://news.example/ferries", now=T0)
    subs = [
        await one.subscribe(story, guild_id=1, channel_id=10 + n, mode=Mode.DIGEST, every=3600,
                            now=T0)
        for n in range(5)
    ]  # fmt: skip
    await poll(one, source, snapshot(0, ("Ferries run",)), T0)
    await poll(one, source, snapshot(3, ("Ferries run",)), T0 + timedelta(minutes=10))
    clock = Clock(T0 + timedelta(minutes=61))
    for _ in range(3):  # both processes tick at the same moments, three periods running
        ticks = [Digests(store, clock=clock).close_due() for store in (one, two) for _ in (0, 1)]
        await asyncio.gather(*ticks)
        clock.advance(minutes=60)
    rows = [row for row in await one.pending_deliveries(clock()) if row.kind is DeliveryKind.DIGEST]
    # the first period (with the 3 updates) once per subscription; the empty ones not at all
    assert sorted(row.subscription_id for row in rows) == sorted(subs)


async def test_rows_written_by_another_process_are_sent_at_once_not_at_the_next_look(stores):
    one, two = stores
    story = await outbox_with_updates(one, 0)
    sent: list[tuple[str, str | None]] = []
    stop = asyncio.Event()
    wakeups = {"a": asyncio.Event(), "b": asyncio.Event()}
    a = Dispatcher(one, {"console": SlowSink("a", sent)}, idle=60, wakeup=wakeups["a"])
    b = Dispatcher(two, {"console": SlowSink("b", sent)}, idle=60, wakeup=wakeups["b"])
    tasks = [asyncio.create_task(a.run(stop)), asyncio.create_task(b.run(stop))]
    try:
        await until(lambda: len(sent) == 1, within=10)  # the key points, by whichever holds
        other, store = ("b", two) if a.delivering else ("a", one)
        source = (await store.sources_of_story(story))[0].id
        await poll(store, source, snapshot(1, ("Ferries run",)), T0 + timedelta(minutes=2))
        wakeups[other].set()  # as its poller does after a poll that queued rows
        started = asyncio.get_running_loop().time()
        await until(lambda: len(sent) == 2, within=10)
        # the deliverer looks by itself only every 60 s here: it was told
        assert asyncio.get_running_loop().time() - started < 5
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert [what for _, what in sent] == [None, "u1"]
