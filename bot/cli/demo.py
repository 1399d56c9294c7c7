"""`bulletin demo`: a live page served on 127.0.0.1, followed in console mode, with the web
window (status page, health, metrics) at a free loopback port whose address it prints.

The page (`bot.demo`) grows one step every `--step-seconds` (6 s: about a minute in all) with
new updates, a correction and a change of its key points, then stays still until Ctrl-C. The
database is a temporary file; only this server's host:port is allowed although it is loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import tempfile
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot import app
from bot.config import (
    Config,
    DatabaseConfig,
    PollingConfig,
    SourceConfig,
    StoryConfig,
    WebConfig,
)
from bot.demo import DEMO_STEP_INTERVAL, DEMO_STEPS, demo_page, demo_step_at
from bot.errors import BulletinError
from bot.runtime import Runtime

if TYPE_CHECKING:
    # imported where the demo serves: `bulletin run` (which loads this module to build the
    # command line) needs no aiohttp server
    from aiohttp import web

STORY = "Kestrel-4 launch (demo)"
PATH = "/live/kestrel-4-launch"


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--step-seconds",
        type=_positive_seconds,
        default=DEMO_STEP_INTERVAL.total_seconds(),
        metavar="S",
        help=f"seconds between two steps of the page (default "
        f"{DEMO_STEP_INTERVAL.total_seconds():g}; {DEMO_STEPS} steps in all)",
    )


class DemoServer:
    """Serves the demo page on 127.0.0.1 (a port the system picks), advancing with time."""

    def __init__(self, step_interval: timedelta) -> None:
        self.step_interval = step_interval
        self.start = datetime.now(UTC)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def __aenter__(self) -> DemoServer:
        from aiohttp import web

        application = web.Application()
        application.router.add_get(PATH, self._page)
        self._runner = web.AppRunner(application, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert isinstance(server, asyncio.Server) and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        self.start = datetime.now(UTC)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def step(self) -> int:
        return demo_step_at(datetime.now(UTC), start=self.start, step_interval=self.step_interval)

    async def _page(self, request: web.Request) -> web.Response:
        body = demo_page(
            self.step(), start=self.start, step_interval=self.step_interval, url=self.url
        )
        from aiohttp import web

        return web.Response(body=body, content_type="text/html", charset="utf-8")


def demo_config(url: str, host_port: str, database: Path, step_seconds: float) -> Config:
    """Console mode on the demo page: polled about three times a step (at least every 1 s)."""
    interval = max(1, min(60, round(step_seconds / 3)))
    polling = PollingConfig(
        interval=interval,
        min_interval=1,  # the demo's own floor: its server is local and its own
        timeout=5.0,
        allow_private_addresses=(host_port,),
    )
    story = StoryConfig(name=STORY, sources=(SourceConfig(url=url),), interval=interval)
    return Config(
        database=DatabaseConfig(path=database),
        polling=polling,
        web=WebConfig(listen="127.0.0.1:0"),  # the status page, at a free loopback port
        stories=(story,),
    )


async def demo(step_seconds: float, *, stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    step_interval = timedelta(seconds=step_seconds)
    with tempfile.TemporaryDirectory(prefix="bulletin-demo-") as directory:
        async with DemoServer(step_interval) as server:
            config = demo_config(
                server.url, f"127.0.0.1:{server.port}", Path(directory) / "demo.db", step_seconds
            )
            print(intro(server.url, step_seconds * (DEMO_STEPS - 1)) + "\n", flush=True)
            tail: asyncio.Task[None] | None = None

            def ready(runtime: Runtime) -> None:
                nonlocal tail
                if runtime.web_url is not None:
                    print(f"Status page: {runtime.web_url}/ (metrics at /metrics)\n", flush=True)
                tail = asyncio.create_task(_say_when_done(server, config, stop))

            try:
                status = await app.main(config, stop=stop, on_ready=ready)
            finally:
                if tail is not None:
                    tail.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await tail
            # on its own line, after the "^C" the terminal may have echoed
            print("\nDemo stopped.", flush=True)
            return status


def intro(url: str, seconds: float) -> str:
    """What the demo is about to show, wrapped for an 80-column terminal."""
    span = "about a minute" if 40 <= seconds <= 90 else f"about {seconds:.0f} s"
    return textwrap.fill(
        f"Bulletin demo: a made-up live page about a rocket launch is served at {url} and "
        f"changes over {span}: new updates, a correction, a change to its key points. "
        "Bulletin follows it below in console mode, as `bulletin run` follows real pages, "
        "and prints each change as it finds it.",
        width=80,
        break_long_words=False,
        break_on_hyphens=False,
    )


async def _say_when_done(server: DemoServer, config: Config, stop: asyncio.Event) -> None:
    """After the last step has been polled, say that nothing more will come."""
    last = server.start + server.step_interval * (DEMO_STEPS - 1)
    wait = (last - datetime.now(UTC)).total_seconds() + 2 * config.polling.interval + 1
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(wait, 0))
    if not stop.is_set():
        print("(The demo page has stopped changing. Press Ctrl-C to quit.)\n", flush=True)


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "verbose", False):
        # The demo speaks through its console output; Bulletin's own progress notes (a new
        # database's migrations, "stopped") would only clutter it. Warnings still show.
        logging.getLogger("bot").setLevel(logging.WARNING)
    try:
        return asyncio.run(demo(args.step_seconds))
    except OSError as error:
        raise BulletinError(f"cannot serve the demo page: {error.strerror or error}") from None


__all__ = ["DemoServer", "demo", "demo_config"]
