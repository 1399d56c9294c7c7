"""A COMMIT whose answer is lost: the store asks whether it happened before running anything
again, so the call's writes are made exactly once either way.

Between the store and PostgreSQL sits a proxy of the test's own that, once armed, cuts the
connection at the next COMMIT (or at the next changed poll's one statement, which commits by
itself, or at the statement of unchanged polls written together): after passing it on (the
server commits; the answer never arrives) or instead of passing it on (the server rolls
back)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from bot.model import FailureReason
from bot.outcome import GivenUp
from bot.store import Store, open_store
from tests import postgres
from tests.builders import T0, answer, entry, poll, snap

SSL_REQUEST = 80877103


class CommitCutter:
    """A TCP proxy to PostgreSQL that cuts the connection at the first COMMIT once armed."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.armed: str | None = None  # "after" or "before" passing the COMMIT on
        self.statement = False  # cut at a changed poll's statement instead of a COMMIT
        self.marker = b"WITH src AS"  # how that statement begins
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> CommitCutter:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter):
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        muted: list[bool] = []  # once set, nothing the server says reaches the client
        back = asyncio.ensure_future(self._pipe(server_in, client_out, muted))
        try:
            await self._frontend(client_in, server_out, client_out, muted)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a connection's end (or the proxy's) is no error of the test's
        finally:
            back.cancel()
            for writer in (client_out, server_out):
                writer.close()

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, muted: list[bool]
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while (data := await reader.read(65536)) and not muted:
                writer.write(data)
                await writer.drain()
        writer.close()  # the server hung up: so does the proxy, towards the client

    async def _frontend(self, reader, server_out, client_out, muted: list[bool]) -> None:
        # untyped start-up messages first (an SSLRequest, then the StartupMessage)
        while True:
            head = await reader.readexactly(8)
            (length, code) = struct.unpack("!ii", head)
            server_out.write(head + await reader.readexactly(length - 8))
            if code != SSL_REQUEST:
                break
        marked = False  # the changed poll's statement is on its way: cut at its Sync
        while True:
            kind = await reader.readexactly(1)
            length_bytes = await reader.readexactly(4)
            (length,) = struct.unpack("!i", length_bytes)
            body = await reader.readexactly(length - 4)
            message = kind + length_bytes + body
            if self.armed and self.statement and kind == b"P" and self.marker in body:
                if self.armed == "before":
                    self.armed = None
                    self.cuts += 1
                    client_out.transport.abort()
                    return
                marked = True
            cut_here = kind == b"S" and marked
            commit = kind == b"Q" and body.rstrip(b"\x00;").upper() == b"COMMIT"
            if self.armed and (cut_here or (commit and not self.statement)):
                mode, self.armed = self.armed, None
                self.cuts += 1
                muted.append(True)
                if mode == "after":
                    server_out.write(message)
                    await server_out.drain()
                    await asyncio.sleep(0.3)  # the server commits; its answer goes nowhere
                client_out.transport.abort()
                return
            server_out.write(message)
            await server_out.drain()


@pytest.fixture
async def cut() -> AsyncIterator[tuple[CommitCutter, str]]:
    await postgres.require_server()
    async with postgres.fresh_database() as url, CommitCutter(5432) as cutter:
        proxied = url.replace(":5432/", f":{cutter.port}/") + "?sslmode=disable"
        yield cutter, proxied


async def rows(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url.replace("?sslmode=disable", ""))
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


async def ready_store(url: str) -> tuple[Store, int]:
    store = await open_store(url)
    story = await store.ensure_story("S", now=T0)
    source = await store.add_source(story, "https://example.org/s", now=T0)
    await store.subscribe(story, guild_id=1, channel_id=10, now=T0)
    await poll(store, source, snap(entry(1)))
    return store, source


@pytest.mark.parametrize("mode", ["after", "before"])
async def test_a_delivery_whose_commit_answer_is_lost_is_recorded_once(cut, mode):
    cutter, url = cut
    store, source = await ready_store(url)
    try:
        await poll(store, source, snap(entry(1), entry(2)), T0 + timedelta(minutes=1))
        (row,) = await store.pending_deliveries(T0 + timedelta(hours=1))
        cutter.armed = mode
        await store.record_delivery(
            [row], GivenUp(FailureReason.DISCORD_ERROR, "HTTP 400"), now=T0 + timedelta(hours=1)
        )
        assert cutter.cuts == 1
    finally:
        await store.close()
    attempts = await rows(url, "SELECT delivery_id, outcome FROM delivery_attempts")
    assert [tuple(a) for a in attempts] == [(row.id, "given_up")]
    (state,) = await rows(url, f"SELECT state, attempts FROM deliveries WHERE id = {row.id}")
    assert tuple(state) == ("given_up", 1)


@pytest.mark.parametrize("mode", ["after", "before"])
async def test_a_poll_whose_commit_answer_is_lost_is_recorded_once(cut, mode):
    cutter, url = cut
    store, source = await ready_store(url)
    try:
        version = (await store.get_source(source)).version
        cutter.statement = True
        cutter.armed = mode
        changes = await poll(store, source, snap(entry(1), entry(2)), T0 + timedelta(minutes=1))
        assert [c.entry.id for c in changes] == ["e2"]
        assert cutter.cuts == 1
        assert (await store.get_source(source)).version == version + 1
    finally:
        await store.close()
    queued = await rows(url, "SELECT entry_id FROM deliveries WHERE kind = 'new'")
    assert [q[0] for q in queued] == ["e2"]


@pytest.mark.parametrize("mode", ["after", "before"])
async def test_unchanged_polls_written_together_whose_answer_is_lost_are_recorded_once(cut, mode):
    cutter, url = cut
    store, first = await ready_store(url)
    try:
        story = await store.ensure_story("S", now=T0)
        others = [await store.add_source(story, f"https://example.org/{n}", now=T0) for n in (2, 3)]
        sources = [first, *others]
        versions = [(await store.get_source(s)).version for s in sources]
        cutter.statement = True
        cutter.marker = b"FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]"
        cutter.armed = mode
        later = T0 + timedelta(minutes=1)
        await asyncio.gather(*(answer(store, s, now=later, etag=f'"{s}"') for s in sources))
        assert cutter.cuts == 1
        after = [await store.get_source(s) for s in sources]
        assert [s.version for s in after] == [v + 1 for v in versions]
        assert [(s.last_polled, s.etag) for s in after] == [(later, f'"{s}"') for s in sources]
    finally:
        await store.close()
