"""A live-source server on 127.0.0.1 for tests and benchmarks, scripted path by path.

    async with SourceServer() as server:
        server.page("/live", b"<html>...", etag=True)
        url = server.url("/live")
        ...
        server.page("/live", b"<html>changed")     # the next poll sees the new content
        assert server.hits["/live"] == 2

Routes can change while the server runs (one catch-all handler looks paths up in a dict).
Behaviours: pages with ETag/Last-Modified and 304s, sequences that change between polls,
redirects, compressed bodies (gzip, deflate, br) and compression bombs generated while streaming,
endless chunked streams, a one-byte-a-second drip, requests accepted and never answered, and
status codes with Retry-After. Every request is counted per path and its headers kept.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType

import brotli
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a body with its headers, optionally compressed, with validators."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None  # "gzip", "deflate", "deflate-raw" (sent as deflate) or "br"
    etag: bool | str = False  # True: a strong ETag from the body's hash
    last_modified: datetime | None = None


@functools.lru_cache(maxsize=4096)  # benchmarks serve the same bodies again and again
def _compress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return c.compress(body) + c.flush()
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "deflate-raw":
        c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        return c.compress(body) + c.flush()
    if encoding == "br":
        return brotli.compress(body)
    raise ValueError(f"unknown encoding {encoding}")


def _header_encoding(encoding: str) -> str:
    return "deflate" if encoding == "deflate-raw" else encoding


class SourceServer:
    """An aiohttp server on 127.0.0.1, port chosen by the system, scripted per path."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.hits: Counter[str] = Counter()
        self.requests: dict[str, list[dict[str, str]]] = {}
        self.times: dict[str, list[float]] = {}  # when each request came (time.monotonic)
        self._routes: dict[str, Handler] = {}
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.open_streams = 0  # handlers still writing (drips, endless streams, bombs)

    # --- life ---------------------------------------------------------------------------------

    async def __aenter__(self) -> SourceServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # handler_cancellation: a client that hangs up ends the handler (drips, hangs, bombs).
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def host_port(self) -> str:
        """The "host:port" form config's allow_private_addresses takes."""
        return f"{self.host}:{self.port}"

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.requests.setdefault(path, []).append(dict(request.headers))
        self.times.setdefault(path, []).append(time.monotonic())
        handler = self._routes.get(path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)

    # --- scripting ----------------------------------------------------------------------------

    def route(self, path: str, handler: Handler) -> None:
        """Serve PATH with any aiohttp handler."""
        self._routes[path] = handler

    def page(self, path: str, body: bytes | str, **options: object) -> Reply:
        """Serve one reply at PATH until told otherwise (options: the fields of Reply)."""
        reply = self._reply(body, options)
        self.route(path, lambda request: self._serve(request, reply))
        return reply

    def sequence(self, path: str, replies: Sequence[Reply]) -> None:
        """Serve REPLIES one per request; the last one keeps being served."""
        served = 0

        async def handler(request: web.Request) -> web.StreamResponse:
            nonlocal served
            reply = replies[min(served, len(replies) - 1)]
            served += 1
            return await self._serve(request, reply)

        self.route(path, handler)

    def status(self, path: str, status: int, *, retry_after: str | None = None) -> None:
        """Answer STATUS (e.g. 429 or 503), with a Retry-After header when given."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.page(path, f"status {status}", status=status, headers=headers)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        """Redirect PATH to LOCATION (absolute, or a path on this server)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        self.route(path, handler)

    def redirect_chain(self, prefix: str, hops: int, final: str) -> str:
        """PREFIX/0 → PREFIX/1 → ... → FINAL after HOPS redirects; returns the first path."""
        for hop in range(hops):
            target = f"{prefix}/{hop + 1}" if hop + 1 < hops else final
            self.redirect(f"{prefix}/{hop}", target)
        return f"{prefix}/0"

    def bomb(self, path: str, size: int = 1 << 30, encoding: str = "gzip") -> None:
        """A body of SIZE zero bytes compressed as it is sent, never held whole in memory."""

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(
                headers={"Content-Type": "text/html", "Content-Encoding": encoding}
            )
            await response.prepare(request)
            block = bytes(1 << 20)
            if encoding == "br":
                compressor = brotli.Compressor()
                step: Callable[[bytes], bytes] = compressor.process
                end: Callable[[], bytes] = compressor.finish
            else:
                wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
                zcompressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
                step, end = zcompressor.compress, zcompressor.flush
            await self._stream(response, (step(block) for _ in range(size // len(block))))
            await response.write(end())
            await response.write_eof()
            return response

        self.route(path, handler)

    def endless(self, path: str, chunk: int = 64 * 1024) -> None:
        """A chunked body that never ends."""

        def chunks() -> Iterator[bytes]:
            data = b"<p>" + b"x" * (chunk - 3)
            while True:
                yield data

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "text/html"})
            await response.prepare(request)
            await self._stream(response, chunks())
            return response

        self.route(path, handler)

    def drip(self, path: str, interval: float = 1.0, total: int = 10_000) -> None:
        """Headers at once, then one byte every INTERVAL seconds."""

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "text/html"})
            await response.prepare(request)
            self.open_streams += 1
            try:
                for _ in range(total):
                    await response.write(b"x")
                    await asyncio.sleep(interval)
            finally:
                self.open_streams -= 1
            await response.write_eof()
            return response

        self.route(path, handler)

    def hang(self, path: str) -> None:
        """Accept the request and never answer (until the server stops)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            await self._stopping.wait()
            return web.Response(status=503)

        self.route(path, handler)

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _reply(body: bytes | str, options: dict[str, object]) -> Reply:
        data = body.encode() if isinstance(body, str) else body
        return Reply(body=data, **options)  # type: ignore[arg-type]

    async def _stream(self, response: web.StreamResponse, chunks: Iterable[bytes]) -> None:
        self.open_streams += 1
        try:
            for data in chunks:
                if data:
                    await response.write(data)
                await asyncio.sleep(0)
        finally:
            self.open_streams -= 1

    @staticmethod
    async def _serve(request: web.Request, reply: Reply) -> web.StreamResponse:
        headers = dict(reply.headers)
        etag: str | None = None
        if reply.etag is True:
            etag = '"' + hashlib.sha256(reply.body).hexdigest()[:16] + '"'
        elif isinstance(reply.etag, str):
            etag = reply.etag
        if etag is not None:
            headers["ETag"] = etag
        if reply.last_modified is not None:
            headers["Last-Modified"] = format_datetime(reply.last_modified.astimezone(UTC), True)
        if reply.status == 200 and _not_modified(request, etag, reply.last_modified):
            return web.Response(status=304, headers=headers)
        body = reply.body
        if reply.encoding is not None:
            body = _compress(body, reply.encoding)
            headers["Content-Encoding"] = _header_encoding(reply.encoding)
        headers["Content-Type"] = reply.content_type
        return web.Response(status=reply.status, body=body, headers=headers)


def _not_modified(request: web.Request, etag: str | None, last_modified: datetime | None) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and etag is not None:
        return etag in [tag.strip() for tag in if_none_match.split(",")]
    since = request.if_modified_since
    if since is not None and last_modified is not None:
        return last_modified.replace(microsecond=0) <= since
    return False
