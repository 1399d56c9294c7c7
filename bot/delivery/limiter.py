"""Pacing our requests to Discord so that it never has to say 429.

discord.py handles each route's bucket itself, but only reacts to the global limit (50
requests a second per bot) once it has been hit. `RateLimiter` spaces every request we make
at `rate` a second (default 45, `[delivery] rate`), which keeps any one-second window below 50.
`ChannelPacer` keeps per-channel pacing from the rate-limit headers Discord sends back (read
through an aiohttp trace on discord.py's own session): once a channel's bucket says nothing
remains, sends to that channel wait for its reset instead of asking.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class RateLimiter:
    """At most `rate` acquisitions a second, evenly spaced (first come, first served)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Clock = time.monotonic,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
        self._on_wait = on_wait  # told how long each acquisition waited (metrics)
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0  # the earliest moment the next request may go
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        delay = slot - now
        if self._on_wait is not None:
            self._on_wait(max(delay, 0.0))
        if delay > 0:
            await asyncio.sleep(delay)


_CHANNEL_MESSAGES = re.compile(r"/channels/(\d+)/messages$")


class ChannelPacer:
    """Per-channel pacing from Discord's `X-RateLimit-*` headers on message creation."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._blocked_until: dict[int, float] = {}

    def note(self, channel_id: int, remaining: int, reset_after: float) -> None:
        """What a response said about the channel's bucket."""
        if remaining <= 0:
            self._blocked_until[channel_id] = self._clock() + reset_after
        else:
            self._blocked_until.pop(channel_id, None)

    def delay(self, channel_id: int) -> float:
        """Seconds to wait before the next message to the channel."""
        until = self._blocked_until.get(channel_id)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._blocked_until[channel_id]
            return 0.0
        return left

    async def wait(self, channel_id: int) -> None:
        delay = self.delay(channel_id)
        if delay > 0:
            log.debug("channel %s: waiting %.2f s for its rate limit", channel_id, delay)
            await asyncio.sleep(delay)

    def trace_config(self) -> aiohttp.TraceConfig:
        """A trace for discord.py's session (`discord.Client(http_trace=...)`) that feeds the
        pacer from the responses to message creation."""
        trace = aiohttp.TraceConfig()

        async def on_end(
            _session: aiohttp.ClientSession,
            _context: SimpleNamespace,
            params: aiohttp.TraceRequestEndParams,
        ) -> None:
            if params.method != "POST":
                return
            match = _CHANNEL_MESSAGES.search(params.url.path)
            headers = params.response.headers
            if match is None or "X-RateLimit-Remaining" not in headers:
                return
            try:
                remaining = int(headers["X-RateLimit-Remaining"])
                reset_after = float(headers.get("X-RateLimit-Reset-After", "0"))
            except ValueError:
                return
            self.note(int(match.group(1)), remaining, reset_after)

        trace.on_request_end.append(on_end)
        return trace
