"""Fetcher against the local source server: real HTTP over 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import random
import socket
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import brotli
import pytest
from aiohttp import web

from bot import __version__
from bot.sources.addresses import AddressRefused
from bot.sources.fetch import (
    BadResponse,
    ConnectionFailed,
    Fetcher,
    FetchTimeout,
    HTTPStatusError,
    NotHTTPError,
    RetryLater,
    TooLarge,
    TooManyRedirects,
    open_session,
)
from bot.sources.limits import FetchLimits
from tests.fakes.source_server import Reply, SourceServer

PAGE = b"<html><body><h1>Live: the harbour bridge reopens</h1></body></html>"
CAP = 256 * 1024


@pytest.fixture
async def server() -> AsyncIterator[SourceServer]:
    async with SourceServer() as running:
        yield running


def settings_for(server: SourceServer, **changes: object) -> FetchLimits:
    base = FetchLimits(timeout=5.0, max_bytes=CAP, allow_private_addresses=(server.host_port,))
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def fetcher(server: SourceServer) -> AsyncIterator[Fetcher]:
    settings = settings_for(server)
    async with open_session(settings) as session:
        yield Fetcher(session, settings)


async def fetch_with(server: SourceServer, url: str, **changes: object):
    settings = settings_for(server, **changes)
    async with open_session(settings) as session:
        return await Fetcher(session, settings).fetch(url)


# --- plain and conditional GET ----------------------------------------------------------------


async def test_ok_returns_body_type_and_hash(server, fetcher):
    server.page("/live", PAGE, content_type="text/html; charset=utf-8")
    result = await fetcher.fetch(server.url("/live"))
    assert (result.status, result.document(), result.content_type) == (
        "ok",
        PAGE,
        "text/html; charset=utf-8",
    )
    assert result.body_hash is not None and len(result.body_hash) == 64


async def test_user_agent_names_bulletin_and_version(server, fetcher):
    server.page("/live", PAGE)
    await fetcher.fetch(server.url("/live"))
    assert f"Bulletin/{__version__}" in server.requests["/live"][0]["User-Agent"]


async def test_etag_is_sent_back_and_304_is_not_modified(server, fetcher):
    server.page("/live", PAGE, etag=True)
    first = await fetcher.fetch(server.url("/live"))
    second = await fetcher.fetch(
        server.url("/live"), etag=first.etag, previous_hash=first.body_hash
    )
    assert (second.status, second.document(), second.etag, second.body_hash) == (
        "not_modified",
        None,
        first.etag,
        first.body_hash,
    )
    assert server.requests["/live"][1]["If-None-Match"] == first.etag


async def test_last_modified_is_sent_back_and_304_is_not_modified(server, fetcher):
    server.page("/live", PAGE, last_modified=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    first = await fetcher.fetch(server.url("/live"))
    second = await fetcher.fetch(server.url("/live"), last_modified=first.last_modified)
    assert (second.status, second.last_modified) == ("not_modified", first.last_modified)


async def test_changed_content_with_stale_etag_is_ok(server, fetcher):
    server.sequence("/live", [Reply(PAGE, etag=True), Reply(PAGE + b"<p>new</p>", etag=True)])
    first = await fetcher.fetch(server.url("/live"))
    second = await fetcher.fetch(server.url("/live"), etag=first.etag)
    assert (second.status, second.document()) == ("ok", PAGE + b"<p>new</p>")
    assert second.etag != first.etag


async def test_same_body_hash_is_unchanged_without_a_body(server, fetcher):
    server.page("/live", PAGE)
    first = await fetcher.fetch(server.url("/live"))
    second = await fetcher.fetch(server.url("/live"), previous_hash=first.body_hash)
    assert (second.status, second.document(), second.body_hash) == (
        "unchanged",
        None,
        first.body_hash,
    )


async def test_different_body_hash_is_ok(server, fetcher):
    server.page("/live", PAGE)
    result = await fetcher.fetch(server.url("/live"), previous_hash="0" * 64)
    assert (result.status, result.document()) == ("ok", PAGE)


async def test_fragment_is_not_sent(server, fetcher):
    server.page("/live", PAGE)
    result = await fetcher.fetch(server.url("/live#update-3"))
    assert result.final_url == server.url("/live")


# --- compression and size ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
async def test_compressed_bodies_are_decompressed(server, fetcher, encoding):
    server.page("/live", PAGE * 50, encoding=encoding)
    result = await fetcher.fetch(server.url("/live"))
    assert result.document() == PAGE * 50
    # kept as sent until it is read; its size and hash are the decoded document's
    assert result.encoding is not None and len(result.body or b"") < len(PAGE * 50)
    assert result.size == len(PAGE * 50)
    assert result.body_hash == hashlib.sha256(PAGE * 50).hexdigest()


async def test_body_exactly_at_the_cap_is_accepted(server, fetcher):
    server.page("/live", b"x" * CAP)
    assert len((await fetcher.fetch(server.url("/live"))).document() or b"") == CAP


async def test_body_over_the_cap_is_too_large(server, fetcher):
    server.page("/live", b"x" * (CAP + 1))
    with pytest.raises(TooLarge, match=rf"^body over {CAP} bytes from http://"):
        await fetcher.fetch(server.url("/live"))


def big_page(size: int) -> bytes:
    """A page of SIZE bytes of varied words: it compresses as real pages do, not to nothing."""
    rng = random.Random(4)
    words = [f"w{rng.randrange(5000)}" for _ in range(size // 3)]
    return (b"<html><body><p>" + " ".join(words).encode())[: size - 18] + b"</p></body></html>"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
async def test_a_large_compressed_body_is_read_whole(server, fetcher, encoding):
    # many times the 64 KiB a decompression step yields (brotli once stopped at the first step)
    body = big_page(CAP - 1000)
    server.page("/live", body, encoding=encoding)
    assert (await fetcher.fetch(server.url("/live"))).document() == body


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
async def test_compressed_body_at_the_cap_once_decompressed_is_accepted(server, fetcher, encoding):
    server.page("/live", b"x" * CAP, encoding=encoding)
    assert len((await fetcher.fetch(server.url("/live"))).document() or b"") == CAP


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
async def test_compressed_body_over_the_cap_once_decompressed_is_too_large(
    server, fetcher, encoding
):
    server.page("/live", b"x" * (CAP + 1), encoding=encoding)
    with pytest.raises(TooLarge, match=rf"^body over {CAP} bytes"):
        await fetcher.fetch(server.url("/live"))


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", lambda body: gzip.compress(body)),
        ("deflate", lambda body: zlib.compress(body)),
        ("br", lambda body: brotli.compress(body)),
    ],
)
async def test_a_compressed_body_cut_short_is_a_bad_response(server, fetcher, encoding, compress):
    # a page cut in half would read as one that lost half its updates and key points
    whole = compress(PAGE * 50 + bytes(range(256)) * 40)
    server.page("/live", whole[: len(whole) // 2], headers={"Content-Encoding": encoding})
    with pytest.raises(BadResponse, match=f"^{encoding} body cut short"):
        await fetcher.fetch(server.url("/live"))


async def test_an_empty_body_said_to_be_compressed_is_a_bad_response(server, fetcher):
    server.page("/live", b"", headers={"Content-Encoding": "deflate"})
    with pytest.raises(BadResponse, match="deflate body is empty"):
        await fetcher.fetch(server.url("/live"))


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
async def test_compression_bomb_stops_at_the_cap(server, fetcher, encoding):
    server.bomb("/bomb", size=1 << 30, encoding=encoding)
    with pytest.raises(TooLarge):
        await fetcher.fetch(server.url("/bomb"))


async def test_gzip_bomb_is_never_held_in_memory(server, fetcher):
    server.bomb("/bomb", size=1 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge):
            await fetcher.fetch(server.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 1 GiB of zeros behind a cap of 256 KiB: the peak stays a few MiB (server side included).
    assert peak < 16 * 1024 * 1024


async def test_endless_stream_stops_at_the_cap(server, fetcher):
    server.endless("/stream")
    with pytest.raises(TooLarge):
        await fetcher.fetch(server.url("/stream"))


async def test_endless_stream_is_hung_up_on(server, fetcher):
    server.endless("/stream")
    with pytest.raises(TooLarge):
        await fetcher.fetch(server.url("/stream"))
    for _ in range(200):  # the server notices the closed connection on its next write
        if server.open_streams == 0:
            break
        await asyncio.sleep(0.01)
    assert server.open_streams == 0


async def test_broken_gzip_is_a_bad_response(server, fetcher):
    server.page("/live", b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(BadResponse, match="broken gzip body"):
        await fetcher.fetch(server.url("/live"))


async def test_unknown_encoding_is_a_bad_response(server, fetcher):
    server.page("/live", PAGE, headers={"Content-Encoding": "zstd"})
    with pytest.raises(BadResponse, match="unsupported Content-Encoding 'zstd'"):
        await fetcher.fetch(server.url("/live"))


async def test_gzip_applied_twice_is_refused(server, fetcher):
    server.page(
        "/twice", gzip.compress(gzip.compress(PAGE)), headers={"Content-Encoding": "gzip, gzip"}
    )
    with pytest.raises(BadResponse, match="unsupported Content-Encoding"):
        await fetcher.fetch(server.url("/twice"))


# --- time -------------------------------------------------------------------------------------


async def test_drip_feed_hits_the_total_timeout(server):
    server.drip("/drip", interval=0.1)
    with pytest.raises(FetchTimeout, match=r"^timed out after 0.5 s fetching http://"):
        await fetch_with(server, server.url("/drip"), timeout=0.5)


async def test_server_that_never_answers_hits_the_timeout(server):
    server.hang("/hang")
    with pytest.raises(FetchTimeout):
        await fetch_with(server, server.url("/hang"), timeout=0.3)


async def test_host_that_never_accepts_hits_the_connect_timeout(server):
    # A listening socket whose accept queue is full: the kernel drops further SYNs, so
    # connecting hangs (real loopback, no outside network needed).
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            with pytest.raises(FetchTimeout, match=r"^connecting to 127\.0\.0\.1 timed out after"):
                await fetch_with(
                    server, f"http://127.0.0.1:{port}/", timeout=0.6, allow_private_addresses=True
                )
        finally:
            for filler in fillers:
                filler.close()


async def test_fetch_after_a_timeout_still_works(server):
    server.hang("/hang")
    server.page("/live", PAGE)
    settings = settings_for(server, timeout=0.3)
    async with open_session(settings) as session:
        fetcher = Fetcher(session, settings)
        with pytest.raises(FetchTimeout):
            await fetcher.fetch(server.url("/hang"))
        assert (await fetcher.fetch(server.url("/live"))).document() == PAGE


# --- status codes and Retry-After -------------------------------------------------------------


async def test_429_with_retry_after_seconds_is_retry_later(server, fetcher):
    server.status("/busy", 429, retry_after="120")
    with pytest.raises(RetryLater) as caught:
        await fetcher.fetch(server.url("/busy"))
    assert (caught.value.status, caught.value.delay) == (429, 120.0)


async def test_503_with_retry_after_date_is_retry_later(server):
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    server.status("/busy", 503, retry_after="Sun, 01 Mar 2026 12:05:00 GMT")
    settings = settings_for(server)
    async with open_session(settings) as session:
        fetcher = Fetcher(session, settings, clock=lambda: now)
        with pytest.raises(RetryLater) as caught:
            await fetcher.fetch(server.url("/busy"))
    assert caught.value.delay == 300.0


async def test_retry_after_in_the_past_means_now(server):
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    server.status("/busy", 503, retry_after="Sun, 01 Mar 2026 11:00:00 GMT")
    settings = settings_for(server)
    async with open_session(settings) as session:
        with pytest.raises(RetryLater) as caught:
            await Fetcher(session, settings, clock=lambda: now).fetch(server.url("/busy"))
    assert caught.value.delay == 0.0


@pytest.mark.parametrize("retry_after", [None, "soon"])
async def test_429_without_usable_retry_after_is_a_status_error(server, fetcher, retry_after):
    server.status("/busy", 429, retry_after=retry_after)
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(server.url("/busy"))
    assert not isinstance(caught.value, RetryLater)


@pytest.mark.parametrize("status", [404, 410, 500])
async def test_error_status_names_the_code(server, fetcher, status):
    server.status("/gone", status)
    with pytest.raises(HTTPStatusError, match=rf"^HTTP {status} from http://"):
        await fetcher.fetch(server.url("/gone"))


# --- redirects --------------------------------------------------------------------------------


async def test_redirect_chain_within_the_limit_is_followed(server, fetcher):
    server.page("/final", PAGE)
    first = server.redirect_chain("/hop", 5, "/final")
    result = await fetcher.fetch(server.url(first))
    assert (result.document(), result.final_url) == (PAGE, server.url("/final"))


async def test_redirect_chain_over_the_limit_fails(server, fetcher):
    server.page("/final", PAGE)
    first = server.redirect_chain("/hop", 6, "/final")
    with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
        await fetcher.fetch(server.url(first))
    assert server.hits["/final"] == 0


async def test_redirect_loop_is_refused(server, fetcher):
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    with pytest.raises(TooManyRedirects, match="redirect loop"):
        await fetcher.fetch(server.url("/a"))


async def test_redirect_to_allowed_host_port_is_served(server, fetcher):
    server.page("/final", PAGE)
    server.redirect("/go", server.url("/final"), status=301)
    assert (await fetcher.fetch(server.url("/go"))).document() == PAGE


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/",
        "http://127.0.0.1:{other}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/",
        "http://0.0.0.0:{port}/",
        "http://10.0.0.1/",
        "http://2130706433:{other}/",
        "http://0177.0.0.1:{other}/",
        "http://0x7f.1:{other}/",
        "http://[::ffff:127.0.0.1]:{other}/",
        "http://localhost:{other}/",
    ],
)
async def test_redirect_to_a_private_address_is_refused(server, fetcher, target):
    server.page("/final", PAGE)
    location = target.format(port=server.port, other=server.port + 1)
    server.redirect("/go", location)
    with pytest.raises(AddressRefused, match=r"^address refused: "):
        await fetcher.fetch(server.url("/go"))


@pytest.mark.parametrize(
    "location", ["ftp://example.com/file", "file:///etc/passwd", "javascript:alert(1)"]
)
async def test_redirect_to_another_scheme_is_refused(server, fetcher, location):
    server.redirect("/go", location)
    with pytest.raises(NotHTTPError, match="only http and https"):
        await fetcher.fetch(server.url("/go"))


async def test_redirect_without_location_is_a_bad_response(server, fetcher):
    server.page("/go", b"", status=302)
    with pytest.raises(BadResponse, match="HTTP 302 without a Location"):
        await fetcher.fetch(server.url("/go"))


# --- addresses and schemes --------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "example.com/live"])
async def test_only_http_and_https_are_fetched(fetcher, url):
    with pytest.raises(NotHTTPError):
        await fetcher.fetch(url)


@pytest.mark.parametrize(
    "host", ["2130706433", "0177.0.0.1", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "[::1]"]
)
async def test_odd_spellings_of_loopback_are_refused(server, host):
    server.page("/live", PAGE)
    with pytest.raises(AddressRefused, match="loopback"):
        await fetch_with(server, f"http://{host}:{server.port}/live", allow_private_addresses=())
    assert server.hits["/live"] == 0


async def test_odd_spelling_of_an_allowed_address_is_that_address(server, fetcher):
    server.page("/live", PAGE)
    url = f"http://2130706433:{server.port}/live#top"
    first = await fetcher.fetch(url)
    again = await fetcher.fetch(url)  # from the fetcher's checked URLs, as it was written then
    assert first.document() == again.document() == PAGE
    assert first.final_url == again.final_url == f"http://127.0.0.1:{server.port}/live"
    assert server.hits["/live"] == 2


async def test_a_url_fetched_again_asks_for_the_same_path(server, fetcher):
    server.page("/café au lait", PAGE)
    url = server.url("/café au lait?q=a b")
    for _ in range(2):  # the second from the fetcher's checked URLs: not encoded twice
        assert (await fetcher.fetch(url)).document() == PAGE
    assert server.hits["/café au lait"] == 2


async def test_name_resolving_to_a_private_address_is_refused(server):
    server.page("/live", PAGE)
    with pytest.raises(AddressRefused, match=r"localhost \(127\.0\.0\.1\) is loopback"):
        await fetch_with(server, f"http://localhost:{server.port}/live", allow_private_addresses=())
    assert server.hits["/live"] == 0


async def test_allow_list_entry_by_host_name_is_served(server):
    server.page("/live", PAGE)
    result = await fetch_with(
        server,
        f"http://localhost:{server.port}/live",
        allow_private_addresses=(f"localhost:{server.port}",),
    )
    assert result.document() == PAGE


async def test_allow_all_serves_loopback(server):
    server.page("/live", PAGE)
    result = await fetch_with(server, server.url("/live"), allow_private_addresses=True)
    assert result.document() == PAGE


async def test_closed_port_is_a_connection_failure(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionFailed, match=r"cannot connect to 127\.0\.0\.1"):
        await fetch_with(server, f"http://127.0.0.1:{port}/", allow_private_addresses=True)


async def test_session_without_the_guarded_resolver_is_refused():
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TypeError, match="open_session"):
            Fetcher(session, FetchLimits())


# --- concurrency ------------------------------------------------------------------------------


class Gate:
    """A route that holds every request until opened, recording how many wait at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.opened = asyncio.Event()

    async def handler(self, request: web.Request) -> web.StreamResponse:
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            await self.opened.wait()
        finally:
            self.inside -= 1
        return web.Response(body=PAGE)


async def run_through_gate(gate: Gate, fetcher: Fetcher, urls: list[str]) -> None:
    tasks = [asyncio.create_task(fetcher.fetch(url)) for url in urls]
    for _ in range(50):  # let every task get as far as the limits allow
        await asyncio.sleep(0.01)
    gate.opened.set()
    await asyncio.gather(*tasks)


async def test_per_host_limit_caps_requests_to_one_host(server):
    gate = Gate()
    server.route("/slow", gate.handler)
    settings = settings_for(server, per_host=2)
    async with open_session(settings) as session:
        await run_through_gate(gate, Fetcher(session, settings), [server.url("/slow")] * 6)
    assert (gate.most, server.hits["/slow"]) == (2, 6)


async def test_global_limit_caps_requests_across_hosts(server):
    gate = Gate()
    server.route("/slow", gate.handler)
    settings = settings_for(
        server,
        concurrency=3,
        per_host=4,
        allow_private_addresses=(server.host_port, f"localhost:{server.port}"),
    )
    urls = [server.url("/slow"), f"http://localhost:{server.port}/slow"] * 4
    async with open_session(settings) as session:
        await run_through_gate(gate, Fetcher(session, settings), urls)
    assert (gate.most, server.hits["/slow"]) == (3, 8)


async def test_fetches_queued_for_a_busy_host_leave_the_global_slots_to_other_hosts(server):
    # Ten fetches to one host that never answers, one slot per host, three in all: the nine
    # waiting for that host's slot must not sit on the global slots, or no other host is served.
    server.hang("/slow")
    server.page("/fast", PAGE)
    settings = settings_for(
        server,
        timeout=120.0,
        concurrency=3,
        per_host=1,
        allow_private_addresses=(server.host_port, f"localhost:{server.port}"),
    )
    async with open_session(settings) as session:
        fetcher = Fetcher(session, settings)
        slow = [asyncio.create_task(fetcher.fetch(server.url("/slow"))) for _ in range(10)]
        try:
            fast = await asyncio.wait_for(fetcher.fetch(f"http://localhost:{server.port}/fast"), 30)
            assert fast.document() == PAGE
            assert server.hits["/slow"] <= 1  # per_host: the other nine wait
        finally:
            for task in slow:
                task.cancel()
            await asyncio.gather(*slow, return_exceptions=True)


def test_retry_after_date_parsing_is_timezone_aware():
    from bot.sources.fetch import parse_retry_after

    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    later = now + timedelta(minutes=2)
    assert parse_retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT"), now) == 120.0
