"""The web window's HTTP server (aiohttp's own), inside the bot's process:

    GET /healthz        200 while the event loop answers
    GET /readyz         200 when the database answers, the scheduler runs and (on Discord)
                        every shard held is connected; else 503 (JSON: each check's state)
    GET /metrics        Prometheus text format
    GET /               the status page: every story, the delivery backlog, the last deliveries
    GET /stories/<id>   one story in full, with previews of its Discord embeds

With a token (`[web] token_env`), every request needs it (`bot.web.auth`). There is no access
log (a `?token=` must never reach one). Pages are drawn in a worker thread, so that a large
page never holds up polling on the event loop, and the front page at most once every 5 s
whoever asks; every page forbids scripts outright (CSP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from bot.errors import BulletinError
from bot.runtime import Runtime
from bot.store import StoreError
from bot.web.auth import Handler, token_guard
from bot.web.health import OK, Health
from bot.web.metrics import CONTENT_TYPE, Metrics
from bot.web.views import index_page, kind_label, story_page

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30
PAGE_SECONDS = 5.0  # the front page is drawn again at most this often
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self'; "
        "base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def when(moment: datetime | None) -> str:
    """A time as the page prints it: "2024-03-01 12:00:05 UTC"."""
    if moment is None:
        return "never"
    d = moment.astimezone(UTC)  # formatted by hand: strftime costs thrice as much
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:{d.second:02d} UTC"


def ago(moment: datetime | None, now: datetime) -> str:
    """How long ago (or how soon) MOMENT is: "3 min ago", "in 20 s"."""
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    span = abs(seconds)
    if span < 90:
        text = f"{span:.0f} s"
    elif span < 90 * 60:
        text = f"{span / 60:.0f} min"
    elif span < 36 * 3600:
        text = f"{span / 3600:.0f} h"
    else:
        text = f"{span / 86400:.0f} days"
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def stamp(moment: datetime | None, now: datetime) -> Markup:
    """A time on the page: machine-readable, in UTC, and how long ago."""
    if moment is None:
        return Markup('<span class="muted">never</span>')
    text = (
        f'<time datetime="{moment.isoformat()}">{when(moment)}</time>'
        f' <span class="muted">({ago(moment, now)})</span>'
    )
    return Markup(text)  # noqa: S704 - only our own formatting of a datetime


def badge(state: str) -> Markup:
    """A state as a coloured badge (live, quiet, ended, paused, failing; sent, retry, ...)."""
    return Markup(f'<span class="badge state-{escape(state)}">{escape(state)}</span>')  # noqa: S704


def clip(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def environment() -> Environment:
    """The templates (bot/web/templates), every value escaped."""
    env = Environment(
        loader=PackageLoader("bot.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["clip"] = clip
    env.filters["kind_label"] = kind_label
    env.globals["ago"] = ago
    env.globals["stamp"] = stamp
    env.globals["badge"] = badge
    env.globals["refresh"] = REFRESH_SECONDS
    return env


class WebWindow:
    """The server: `start()` binds and serves, `stop()` closes it."""

    def __init__(self, runtime: Runtime, metrics: Metrics) -> None:
        listen = runtime.config.web.address
        assert listen is not None, "the web window is on only with [web] listen"
        self._runtime = runtime
        self._metrics = metrics
        self._host, self._port = listen
        self._health = Health(runtime)
        self._templates = environment()
        self._style = resources.files("bot.web").joinpath("templates/style.css").read_bytes()
        token = runtime.config.web.token
        middlewares: list[Middleware] = [_security_headers]
        if token is not None:
            middlewares.append(token_guard(token.reveal()))
        self.app = web.Application(middlewares=middlewares)
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/readyz", self.readyz)
        self.app.router.add_get("/metrics", self.metrics)
        self.app.router.add_get("/", self.index)
        self.app.router.add_get(r"/stories/{story_id:\d+}", self.story)
        self.app.router.add_get("/style.css", self.style)
        self._runner: web.AppRunner | None = None
        self._drawing = asyncio.Lock()
        self._front: tuple[float, str] = (0.0, "")  # the front page: when drawn, and its HTML
        self.url = ""

    async def start(self) -> str:
        """Bind and serve; the address it serves at (BulletinError when it cannot bind)."""
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            raise BulletinError(
                f"web.listen: cannot listen on {self._runtime.config.web.listen}: "
                f"{error.strerror or error}"
            ) from None
        # aiohttp tells the port it bound (port 0) only through its asyncio server
        sockets = getattr(site._server, "sockets", None) or ()
        port = int(sockets[0].getsockname()[1]) if sockets else self._port
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self._health.close()

    # --- health and metrics ------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "checks": {"event_loop": OK}})

    async def readyz(self, request: web.Request) -> web.Response:
        checks = await self._health.checks()
        ready = all(state == OK for state in checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        gateway = self._runtime.gateway
        shards = gateway.gateway_shards() if gateway is not None else ()
        try:
            await self._metrics.refresh(self._runtime.store, shards)
        except Exception:  # the counters are still worth serving; the gauges keep their last
            log.warning("metrics: the store could not be read for the gauges", exc_info=True)
        return web.Response(body=self._metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    # --- the page ----------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        # Drawn at most once every PAGE_SECONDS, whoever asks: several open tabs (or a page
        # of thousands of stories) cost polling no more than one.
        async with self._drawing:
            drawn, text = self._front
            now = time.monotonic()
            if not text or now - drawn >= PAGE_SECONDS:
                page = await index_page(
                    self._runtime.store,
                    self._runtime.gateway,
                    self._metrics,
                    discord=self._health.discord,
                )
                text = await self._draw("index.html", page=page)
                self._front = (now, text)
        return web.Response(text=text, content_type="text/html", charset="utf-8")

    async def story(self, request: web.Request) -> web.Response:
        try:
            page = await story_page(
                self._runtime.store,
                int(request.match_info["story_id"]),
                self._runtime.gateway,
                self._metrics,
            )
        except StoreError:
            raise web.HTTPNotFound(text="no such story") from None
        return await self._html("story.html", page=page)

    async def style(self, request: web.Request) -> web.Response:
        return web.Response(body=self._style, content_type="text/css", charset="utf-8")

    async def _html(self, name: str, **context: Any) -> web.Response:
        text = await self._draw(name, **context)
        return web.Response(text=text, content_type="text/html", charset="utf-8")

    async def _draw(self, name: str, **context: Any) -> str:
        """The template drawn in a worker thread: the event loop keeps polling meanwhile."""
        template = self._templates.get_template(name)
        return await asyncio.to_thread(template.render, **context)


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response


@contextlib.asynccontextmanager
async def serving(runtime: Runtime, metrics: Metrics) -> AsyncIterator[WebWindow]:
    """Serve the web window for as long as the block runs."""
    window = WebWindow(runtime, metrics)
    url = await window.start()
    log.info("web window at %s (/healthz, /readyz, /metrics, /)", url)
    try:
        yield window
    finally:
        await window.stop()


__all__ = ["WebWindow", "ago", "environment", "serving", "when"]
