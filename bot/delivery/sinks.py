"""Where deliveries go: a `Sink` sends one outbox row (and moderators' alerts) somewhere.

The dispatcher hands each pending delivery to the sink of its target ('console' now, 'discord'
when the Discord bot runs). A sink returns the message id it posted (None when there is none,
as on the console) or raises `SendFailed`: `permanent` for a send that can never succeed,
otherwise it is retried later (after `retry_after` seconds when the far end said so).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, tzinfo
from typing import Protocol, TextIO

from bot.delivery.console import format_change, format_key_points
from bot.delivery.sanitize import strip_controls
from bot.model import KeyPoints, KeyPointsChanged
from bot.store import Alert, Delivery

log = logging.getLogger(__name__)


# How a subscription's pause reason starts when Discord says its channel no longer exists
# (the commands then offer to remove it rather than to fix permissions).
CHANNEL_GONE = "the channel was deleted"
NO_PERMISSION = "Bulletin may no longer post there"


class SendFailed(Exception):
    """A send did not go through. `permanent`: never retry; `retry_after`: seconds asked."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Sink(Protocol):
    """Sends deliveries of one target. Both methods return the posted message id, or None."""

    async def send(self, delivery: Delivery) -> int | None: ...

    async def send_alert(self, alert: Alert) -> int | None: ...


def alert_text(alert: Alert) -> str:
    """One line for moderators: "source paused: URL (reason)" or "source resumed: URL"."""
    url = strip_controls(alert.source_url or "(a removed source)")
    if alert.kind == "source_paused":
        reason = " ".join(strip_controls(alert.reason or "").split())
        tail = f" ({reason})" if reason else ""
        return (
            f"source paused: {url}{tail}; it failed repeatedly and is now checked every 30 minutes"
        )
    return f"source resumed: {url} answers again"


class ConsoleSink:
    """Prints changes as readable text on a terminal (or any text stream)."""

    def __init__(self, stream: TextIO | None = None, *, tz: tzinfo | None = None) -> None:
        self._stream = stream
        self._tz = tz

    def write(self, text: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(text + "\n\n")
        stream.flush()

    async def send(self, delivery: Delivery) -> int | None:
        change = delivery.change
        story = delivery.story_name
        if (
            isinstance(change, KeyPointsChanged)
            and not change.removed
            and (change.added == change.items)
        ):
            # The first version (a baseline): the story's key points, not a change of them.
            key_points = KeyPoints(change.kind, change.items)
            self.show_key_points(story, key_points, now=delivery.created_at)
            return None
        self.write(format_change(change, story=story, tz=self._tz, now=delivery.created_at))
        return None

    async def send_alert(self, alert: Alert) -> int | None:
        when = alert.created_at.astimezone(self._tz).strftime("%H:%M")
        self.write(f"{when}  {alert_text(alert)}")
        return None

    def show_key_points(
        self, story: str, key_points: KeyPoints, *, now: datetime | None = None
    ) -> None:
        self.write(
            format_key_points(key_points, story=story, tz=self._tz, now=now or datetime.now(UTC))
        )

    def say(self, text: str) -> None:
        """A line of the console's own (not a change): what it is doing."""
        self.write(text)
