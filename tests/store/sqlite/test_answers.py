"""Unchanged polls on SQLite go together: one statement, one commit, however many polls wait
(`bot.store.sqlite.answers`). Each poll's own fate is asserted on both backends in
tests/store/test_leases.py; here, that they really share the statement, and what stays alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.store import PollOutcome, PollRecord, Store, open_store
from tests.builders import T0

NOW = T0 + timedelta(minutes=1)


async def sources(store: Store, count: int) -> list[int]:
    story = await store.ensure_story("Many", now=T0)
    return [await store.add_source(story, f"https://example.org/{n}", now=T0) for n in range(count)]


async def unchanged(store: Store, source_id: int, etag: str) -> PollRecord:
    source = await store.get_source(source_id)
    return PollRecord(
        source_id=source_id,
        version=source.version,
        outcome=PollOutcome.NOT_MODIFIED,
        now=NOW,
        next_check=NOW + timedelta(minutes=2),
        status=source.status,
        etag=etag,
    )


async def updates_of_sources(store: Store, work: asyncio.Future[object]) -> list[str]:
    statements: list[str] = []

    def traced(sql: str) -> None:
        if sql.startswith("UPDATE sources"):
            statements.append(sql)

    await store._db.set_trace_callback(traced)
    try:
        await work
    finally:
        await store._db.set_trace_callback(None)
    return statements


async def test_twenty_unchanged_polls_at_once_are_one_statement(store):
    ids = await sources(store, 20)
    records = [await unchanged(store, source, f'"v{source}"') for source in ids]
    work = asyncio.ensure_future(asyncio.gather(*(store.record_poll(r) for r in records)))
    statements = await updates_of_sources(store, work)
    assert len(statements) == 1
    polled = [await store.get_source(source) for source in ids]
    assert [(s.version, s.etag, s.next_check) for s in polled] == [
        (1, f'"v{source}"', NOW + timedelta(minutes=2)) for source in ids
    ]


async def test_a_validator_holding_a_nul_is_written_whole_on_its_own(store):
    ids = await sources(store, 3)
    odd = '"a\x00b"'
    records = [await unchanged(store, ids[0], odd)]
    records += [await unchanged(store, source, '"plain"') for source in ids[1:]]
    work = asyncio.ensure_future(asyncio.gather(*(store.record_poll(r) for r in records)))
    statements = await updates_of_sources(store, work)
    assert len(statements) == 2  # the odd one alone, the others together
    assert (await store.get_source(ids[0])).etag == odd


async def test_polls_waiting_when_the_store_closes_are_written(db_path: Path):
    store = await open_store(db_path)
    ids = await sources(store, 5)
    records = [await unchanged(store, source, '"e"') for source in ids]
    waiting = [asyncio.ensure_future(store.record_poll(r)) for r in records]
    await asyncio.sleep(0)  # they are waiting for the writer
    await store.close()
    await asyncio.gather(*waiting)
    reopened = await open_store(db_path)
    try:
        assert [(await reopened.get_source(s)).version for s in ids] == [1] * 5
    finally:
        await reopened.close()
