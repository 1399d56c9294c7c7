"""Publishing (crossposting) what Bulletin posts in an announcement channel, within the
channel's hourly budget, never holding up delivery.

Discord allows about 10 publishes an hour per channel. discord.py, asked for one more than its
bucket allows, or answered 429, sleeps inside the request until the limit resets (for
crossposts, up to an hour): the dispatcher would wait with it. So a publish is never asked
through discord.py's rate limiter: Bulletin takes it from its own budget in the database first
(`Store.take_publish`: a key-point change or "coverage ended" may use the reserve, an update
may not), sends the one request itself on discord.py's connection pool with a short timeout,
and records the answer. A 429, or a bucket Discord says is empty, is kept as the time before
which the channel publishes nothing more; the message itself was posted already, and stays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp
import discord
from discord.http import Route

from bot.delivery.limiter import RateLimiter
from bot.model import PublishOutcome
from bot.store import Store
from bot.store.publishing import PublishBudget, PublishRequest

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

TIMEOUT: Final = 10.0  # seconds a publish may take before it is let go (delivery goes on)
ALREADY_CROSSPOSTED: Final = 40033  # Discord: "This message has already been crossposted"


@dataclass(frozen=True, slots=True)
class Answer:
    """What Discord said to a publish: its status, error code and words, and how long the
    channel must now wait (a 429's retry_after, or an empty bucket's reset)."""

    status: int
    code: int | None = None
    text: str = ""
    wait: float | None = None


class Publisher:
    """Publishes messages of announcement channels for the Discord sink."""

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        *,
        limiter: RateLimiter,
        clock: Clock,
        budget: PublishBudget | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.client = client
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.budget = budget or PublishBudget()
        self.timeout = timeout

    async def publish(self, request: PublishRequest) -> str:
        """Publish the message if the channel's hour allows; what became of it, in words (the
        delivery history's note). Never raises for what Discord or the network says."""
        ticket = await self.store.take_publish(request, now=self.clock(), budget=self.budget)
        if ticket.outcome is PublishOutcome.WAITING:
            return "not published: Discord asked to wait before publishing more here"
        if not ticket.granted:
            kept = " (the rest is kept for key points)" if not request.key else ""
            return f"not published: this hour's publishes are used{kept}"
        answer = await self._crosspost(request.channel_id, request.message_id)
        outcome, note = _judge(answer)
        wait_until = None if answer.wait is None else self.clock() + timedelta(seconds=answer.wait)
        await self.store.publish_done(
            ticket.id,
            outcome=outcome,
            detail=None if answer.status < 300 else note,
            wait_until=wait_until,
        )
        if outcome is not PublishOutcome.PUBLISHED:
            log.info("channel %s: message %s %s", request.channel_id, request.message_id, note)
        return note

    async def _crosspost(self, channel_id: int, message_id: int) -> Answer:
        """The one request, outside discord.py's rate limiter (which would sleep on a 429)."""
        await self.limiter.acquire()  # our global pace still holds
        url = f"{Route.BASE}/channels/{channel_id}/messages/{message_id}/crosspost"
        headers = {
            "Authorization": f"Bot {self.client.http.token}",
            "User-Agent": self.client.http.user_agent,
        }
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        trace = None if self.client.http.http_trace is None else [self.client.http.http_trace]
        try:
            async with (
                aiohttp.ClientSession(
                    connector=self.client.http.connector,
                    connector_owner=False,
                    timeout=timeout,
                    trace_configs=trace,  # counted with discord.py's own requests (metrics)
                ) as session,
                session.post(url, headers=headers) as response,
            ):
                body = await _json_or_none(response)
                return _answer(response.status, response.headers, body)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            return Answer(0, text=f"{type(error).__name__}: {error}")


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return None


def _answer(status: int, headers: Any, body: Any) -> Answer:
    data = body if isinstance(body, dict) else {}
    wait: float | None = None
    if status == 429:
        wait = _seconds(data.get("retry_after")) or _seconds(headers.get("Retry-After")) or 60.0
    elif headers.get("X-RateLimit-Remaining") == "0":
        wait = _seconds(headers.get("X-RateLimit-Reset-After"))
    code = data.get("code")
    return Answer(
        status, code if isinstance(code, int) else None, str(data.get("message") or ""), wait
    )


def _seconds(value: object) -> float | None:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _judge(answer: Answer) -> tuple[PublishOutcome, str]:
    if 200 <= answer.status < 300:
        return PublishOutcome.PUBLISHED, "published"
    if answer.code == ALREADY_CROSSPOSTED:
        return PublishOutcome.PUBLISHED, "published (already)"
    if answer.status == 429:
        return PublishOutcome.FAILED, f"not published: Discord said to wait {answer.wait:.0f} s"
    if answer.status == 0:
        return PublishOutcome.FAILED, f"not published: {answer.text}"
    said = f"{answer.status} {answer.code or ''}: {answer.text}".replace(" :", ":")
    return PublishOutcome.FAILED, f"not published: Discord said {said}"
