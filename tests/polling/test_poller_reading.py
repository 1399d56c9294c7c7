"""Fetched documents wait their turn to be read and recorded: when fetches outrun the reading
thread, the others wait as the bytes fetched, never as snapshots parsed from them, and an
answer without a document (a 304) never waits behind them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from bot.polling.poller import READING_AT_ONCE
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update
from tests.polling.test_poller import Harness, make_harness

PAGES = 3 * READING_AT_ONCE


class HeldReader(Executor):
    """The reading thread, held until `go` is set; counts the documents handed to it."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.handed = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="held-extract")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.handed += 1

        def held() -> Any:
            self.go.wait(10)
            return fn(*args, **kwargs)

        return self._thread.submit(held)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.go.set()
        self._thread.shutdown(wait=wait, cancel_futures=cancel_futures)


@pytest.fixture
async def server() -> AsyncIterator[SourceServer]:
    async with SourceServer() as running:
        yield running


@pytest.fixture
async def held(tmp_path, server) -> AsyncIterator[tuple[Harness, HeldReader]]:
    async for harness in make_harness(tmp_path, server, concurrency=PAGES + 1, per_host=PAGES + 1):
        reader = HeldReader()
        harness.runtime.extractor = reader
        try:
            yield harness, reader
        finally:
            reader.shutdown()


async def fetched_all(server: SourceServer, paths: list[str]) -> None:
    async def asked() -> None:
        while any(server.hits.get(path, 0) == 0 for path in paths):  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(asked(), 10)


async def test_documents_fetched_at_once_are_read_a_few_at_a_time(held, server):
    harness, reader = held
    paths = [f"/live{n}" for n in range(PAGES)]
    sources = []
    for n, path in enumerate(paths):
        server.page(path, live_page(update(n)))
        sources.append(await harness.add(path, story=f"Story {n}"))

    assert await harness.poller.run_once() == PAGES
    await fetched_all(server, paths)
    await asyncio.sleep(0.1)  # time for any further document to be handed over: none is
    assert reader.handed == READING_AT_ONCE
    assert len(harness.poller.in_flight) == PAGES  # the others hold their bytes, and wait

    reader.go.set()
    await asyncio.wait_for(harness.poller.wait_idle(), 10)
    assert reader.handed == PAGES
    for source in sources:
        assert (await harness.store.get_source(source)).last_polled is not None


async def test_an_answer_without_a_document_does_not_wait_behind_documents(held, server):
    harness, reader = held
    server.page("/same", live_page(update(1)), etag=True)
    same = await harness.add("/same", story="Unchanged")
    reader.go.set()
    await harness.poll()  # its first poll reads the page and keeps its ETag
    reader.go.clear()

    paths = [f"/live{n}" for n in range(PAGES)]
    for n, path in enumerate(paths):
        server.page(path, live_page(update(n)))
        await harness.add(path, story=f"Story {n}")
    harness.clock.advance(3600)  # everything due, the unchanged page too
    assert await harness.poller.run_once() == PAGES + 1
    await fetched_all(server, paths)

    await polled_at(harness, same, harness.clock.now)  # while every turn is taken
    assert reader.handed == 1 + READING_AT_ONCE  # the first poll's page, then a turn's worth
    reader.go.set()
    await asyncio.wait_for(harness.poller.wait_idle(), 10)


async def polled_at(harness: Harness, source_id: int, when: datetime) -> None:
    async def recorded() -> None:
        while (await harness.store.get_source(source_id)).last_polled != when:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    await asyncio.wait_for(recorded(), 5)
