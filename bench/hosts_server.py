"""The feed server of the hosts benchmark (bench_poll.py): 1,000 RSS feeds of 20 to 50 items,
served gzipped with ETag and Last-Modified, under one host name or under fifty.

It runs in a child process of its own (`serve`), listening on 127.0.0.1 to 127.0.0.<hosts> on
one port; feed N lives at /feed/N on 127.0.0.<1 + N % hosts>. Every item is dated within the
last hours, so every feed looks live. Control paths (on 127.0.0.1):

- /change: the next fifth of the feeds gets a new item (a new version: new ETag, new date);
- /mark: a pass begins: the request log starts again;
- /report: JSON about the requests since the mark: how many, when the first came, when every
  feed had been asked once, and the longest time between two requests for one feed.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import multiprocessing.connection
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

FEEDS = 1000
CHANGING = 5  # one feed in CHANGING changes at each /change


def feed_host(feed: int, hosts: int) -> str:
    return f"127.0.0.{1 + feed % hosts}"


def feed_url(feed: int, hosts: int, port: int) -> str:
    return f"http://{feed_host(feed, hosts)}:{port}/feed/{feed}"


def _item(feed: int, n: int, when: datetime) -> str:
    return (
        f"<item><title>Section {feed}: story {n} of the day</title>"
        f"<link>https://news.example/s{feed}/story-{n}</link>"
        f'<guid isPermaLink="false">s{feed}-{n}</guid>'
        f"<pubDate>{format_datetime(when)}</pubDate>"
        f"<description>&lt;p&gt;Story {n} of section {feed}: the council met again and agreed "
        "the next steps for the harbour works, the ferry timetable and the festival stage, and "
        "said residents would be told of every closure a week ahead.&lt;/p&gt;</description>"
        "</item>"
    )


class Feed:
    """One feed: its items (newest first), its version, and its gzipped body for it."""

    def __init__(self, feed: int, started: datetime) -> None:
        self.feed = feed
        self.version = 0
        count = 20 + feed * 7 % 31  # 20 to 50 items
        self.items = [
            _item(feed, n, started - timedelta(minutes=3 * (count - n)))
            for n in range(count, 0, -1)
        ]
        self.newest = count
        self._render(started)

    def change(self, now: datetime) -> None:
        self.newest += 1
        self.version += 1
        self.items = [_item(self.feed, self.newest, now), *self.items[:-1]]
        self._render(now)

    def _render(self, now: datetime) -> None:
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Section {self.feed}</title><link>https://news.example/s{self.feed}</link>"
            f"<description>Live news of section {self.feed}</description>"
            + "".join(self.items)
            + "</channel></rss>"
        )
        self.body = gzip.compress(body.encode(), 6)
        self.etag = f'"{self.feed}-{self.version}"'
        self.last_modified = format_datetime(now.replace(microsecond=0), usegmt=True)


class Log:
    """The requests since the last mark: per feed, when it was last asked and the longest gap."""

    def __init__(self) -> None:
        self.mark()

    def mark(self) -> None:
        self.marked = time.monotonic()
        self.requests = 0
        self.first: float | None = None
        self.every: float | None = None
        self.last: dict[int, float] = {}
        self.longest_gap = 0.0

    def saw(self, feed: int) -> None:
        now = time.monotonic()
        self.requests += 1
        if self.first is None:
            self.first = now
        before = self.last.get(feed)
        if before is not None:
            self.longest_gap = max(self.longest_gap, now - before)
        self.last[feed] = now
        if self.every is None and len(self.last) == FEEDS:
            self.every = now

    def report(self) -> dict[str, float | int | None]:
        def since(moment: float | None) -> float | None:
            return None if moment is None else moment - self.marked

        return {
            "requests": self.requests,
            "first": since(self.first),
            "every": since(self.every),
            "longest_gap": self.longest_gap,
            "now": time.monotonic() - self.marked,
        }


def serve(hosts: int, connection: multiprocessing.connection.Connection) -> None:
    from aiohttp import web

    started = datetime.now(UTC)
    feeds = [Feed(feed, started) for feed in range(FEEDS)]
    log = Log()
    changes = {"done": 0}

    async def handle(request: web.BaseRequest) -> web.Response:
        path = request.path
        if path.startswith("/feed/"):
            feed = feeds[int(path[6:])]
            log.saw(feed.feed)
            headers = {"ETag": feed.etag, "Last-Modified": feed.last_modified}
            match = request.headers.get("If-None-Match")
            since = request.headers.get("If-Modified-Since")
            if match == feed.etag or (match is None and since == feed.last_modified):
                return web.Response(status=304, headers=headers)
            headers["Content-Encoding"] = "gzip"
            headers["Content-Type"] = "application/rss+xml; charset=utf-8"
            return web.Response(body=feed.body, headers=headers)
        if path == "/change":
            now = datetime.now(UTC)
            for feed in feeds[changes["done"] % CHANGING :: CHANGING]:
                feed.change(now)
            changes["done"] += 1
            return web.Response(text="changed")
        if path == "/mark":
            log.mark()
            return web.Response(text="marked")
        if path == "/report":
            return web.Response(text=json.dumps(log.report()), content_type="application/json")
        return web.Response(status=404)

    async def main() -> None:
        runner = web.ServerRunner(web.Server(handle, access_log=None))
        await runner.setup()
        first = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await first.start()
        port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for host in range(2, hosts + 1):
            await web.TCPSite(runner, f"127.0.0.{host}", port, backlog=1024).start()
        connection.send(port)
        await asyncio.Event().wait()

    asyncio.run(main())
