"""Hostile sources through the real poll cycle: a real SQLite file, real HTTP over 127.0.0.1.

For each hostile behaviour one source on the local server misbehaves while a healthy source on
the same server is polled in the same pick. The hostile one ends with a clear error stored on
the source (`last_error`), or is read within its bounds; nothing crashes; the healthy one is
polled and its update reaches the outbox while the hostile one is still being dealt with.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest
from aiohttp import web

from bot.model import NewEntry
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update
from tests.polling.test_poller import make_harness, until_polled

MB = 1024 * 1024
CAP = 8 * MB  # over the default 5 MB: 30,000 updates of our synthetic page need 6


def sixty_megabytes(chunked: bool) -> Callable[[web.Request], object]:
    """A 60 MB page streamed from one 1 MB block (never 60 MB in memory on either side)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        if not chunked:
            response.content_length = 60 * MB
        await response.prepare(request)
        block = b"<p>" + b"x" * (MB - 3)
        for _ in range(60):
            await response.write(block)
        await response.write_eof()
        return response

    return handler


def laughs_feed() -> bytes:
    entities = '<!ENTITY l0 "ha">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel>'
        "<title>&l9;</title><item><guid>1</guid><title>&l9;</title></item></channel></rss>"
    ).encode()


def many_updates(count: int) -> bytes:
    return live_page(*(update(n, text=f"Boats {n}.") for n in range(count)))


def deep_page() -> bytes:
    return live_page(update(1)).replace(b"<body>", b"<body>" + b"<div>" * 100_000)


# (how the hostile source behaves, what its last_error says: None when it is read instead)
HOSTILE: dict[str, tuple[Callable[[SourceServer], None], str | None]] = {
    "60-MB-page": (lambda s: s.route("/bad", sixty_megabytes(False)), "body over"),
    "60-MB-chunked": (lambda s: s.route("/bad", sixty_megabytes(True)), "body over"),
    "endless-stream": (lambda s: s.endless("/bad"), "body over"),
    "gzip-bomb": (lambda s: s.bomb("/bad", size=1 << 30), "body over"),
    "brotli-bomb": (lambda s: s.bomb("/bad", size=1 << 30, encoding="br"), "body over"),
    "drip-a-byte-a-second": (lambda s: s.drip("/bad", interval=1.0), "timed out"),
    "accepts-never-answers": (lambda s: s.hang("/bad"), "timed out"),
    "redirect-loop": (lambda s: (s.redirect("/bad", "/b2"), s.redirect("/b2", "/bad")), "loop"),
    "redirect-to-metadata": (
        lambda s: s.redirect("/bad", "http://169.254.169.254/latest/meta-data/"),
        "169.254.169.254",
    ),
    "redirect-to-ipv6-loopback": (lambda s: s.redirect("/bad", "http://[::1]/"), "loopback"),
    "redirect-to-0.0.0.0": (lambda s: s.redirect("/bad", "http://0.0.0.0/"), "unspecified"),
    "redirect-to-decimal-loopback": (
        lambda s: s.redirect("/bad", "http://2130706433/"),
        "loopback",
    ),
    "json-nested-100000-deep": (
        lambda s: s.page("/bad", b"[" * 100_000 + b"]" * 100_000, content_type="application/json"),
        "nested too deeply",
    ),
    "not-json-at-all": (
        lambda s: s.page("/bad", b"\xff\xfe\x00garbage", content_type="application/json"),
        "",
    ),
    "billion-laughs": (
        lambda s: s.page("/bad", laughs_feed(), content_type="application/rss+xml"),
        None,
    ),
    "30000-updates": (lambda s: s.page("/bad", many_updates(30_000)), None),
    "nested-100000-deep": (lambda s: s.page("/bad", deep_page()), None),
}


SLOW = {"drip-a-byte-a-second", "accepts-never-answers"}


@pytest.fixture
async def server():
    async with SourceServer() as running:
        yield running


@pytest.fixture
async def harness(tmp_path, server):
    async for made in make_harness(tmp_path, server, max_bytes=CAP, timeout=1.5):
        yield made


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_source_fails_alone_with_a_clear_error(harness, server, name):
    behave, message = HOSTILE[name]
    behave(server)
    server.page("/good", live_page(update(1)))
    hostile = await harness.add("/bad", story="Hostile")
    healthy = await harness.add("/good", story="Healthy")
    tracemalloc.start()
    try:
        assert await harness.poller.run_once() == 2
        await until_polled(harness.store, healthy, 10)
        if name in SLOW:  # the healthy source did not wait for the hostile one
            assert hostile in harness.poller.in_flight
        await harness.poller.wait_idle()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    good = await harness.store.get_source(healthy)
    bad = await harness.store.get_source(hostile)
    assert (good.failures, good.last_error, good.baseline_at is not None) == (0, None, True)
    if message is None:
        assert (bad.failures, bad.last_error) == (0, None)
        assert bad.baseline_at is not None
    else:
        assert bad.failures == 1
        assert message in (bad.last_error or "")
        assert "\n" not in (bad.last_error or "")
        assert not (bad.last_error or "").startswith("internal error")
    # what is held is bounded by the cap (plus the parse of a page that size)
    assert peak < 120 * MB

    # the healthy source keeps being polled on its schedule
    server.page("/good", live_page(update(1), update(2)))
    await harness.poll_when_due(healthy)
    changes = await harness.changes()
    assert [c.entry.id for c in changes if isinstance(c, NewEntry)][-1].endswith("#post-2")


async def test_thirty_thousand_updates_store_the_newest_five_thousand(harness, server):
    server.page("/live", many_updates(30_000))
    source = await harness.add("/live")
    await harness.poll()
    assert (await harness.store.get_source(source)).last_error is None
    story = await harness.store.ensure_story("Harbour")
    newest = await harness.store.latest_entries(story, limit=1)
    assert newest[0].entry.id.endswith("#post-29999")
