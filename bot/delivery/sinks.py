"""Where outbox rows go: a `Sink` turns rows into messages somewhere and says how each went.

The dispatcher hands a sink the due rows of one subscription (or one alert); the sink plans
them into units, one message each (`plan`, pure), and sends a unit (`send`), returning an
outcome from `bot.outcome` instead of raising for what it expects. Sinks never write to the
store: what a send leaves behind travels back as the outcome's effects.

Here: the `Sink` protocol, `Unit`, and the sinks of the terminal (`ConsoleSink`) and of the log
(`LogSink`, for the console's alerts while Bulletin runs on Discord).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol, TextIO

from bot.delivery.console import format_change, format_key_points
from bot.delivery.sanitize import strip_controls
from bot.model import AlertContent, AlertKind, KeyPoints, KeyPointsChanged
from bot.outcome import Outcome, Sent
from bot.store import Delivery, SubscriptionRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Unit:
    """Rows that go out as one message, under one nonce. `more`: the "and K more" it says;
    `skip`: rows left out on purpose (no message; recorded as sent, with `note`)."""

    rows: tuple[Delivery, ...]
    nonce: str
    more: int = 0
    skip: bool = False
    note: str | None = None
    run: int = 0  # units planned together from one run of rows are claimed together

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]


class Sink(Protocol):
    """Sends the rows of one target ('discord', 'console')."""

    def plan(self, rows: Sequence[Delivery], sub: SubscriptionRecord | None) -> list[Unit]:
        """ROWS (one subscription's, in order, or one alert) as units, one message each."""
        ...

    async def send(
        self, unit: Unit, sub: SubscriptionRecord | None, later: Sequence[Delivery]
    ) -> Outcome:
        """Send one unit; LATER: the subscription's rows after it (a newer edit of the same
        update makes an edit pointless)."""
        ...


def one_unit_per_row(rows: Sequence[Delivery]) -> list[Unit]:
    """A row claimed already keeps its claim's nonce; the others go under their own."""
    return [
        Unit((row,), row.batch or row.nonce, row.batch_more, run=index)
        for index, row in enumerate(rows)
    ]


def alert_text(alert: AlertContent) -> str:
    """One line for moderators about a source: "source paused: URL (reason)" or "source
    resumed: URL"."""
    url = strip_controls(alert.url or "(a removed source)")
    if alert.kind is AlertKind.SOURCE_PAUSED:
        reason = " ".join(strip_controls(alert.error or "").split())
        tail = f" ({reason})" if reason else ""
        return (
            f"source paused: {url}{tail}; it failed repeatedly and is now checked every 30 minutes"
        )
    return f"source resumed: {url} answers again"


class ConsoleSink:
    """Prints changes and alerts as readable text on a terminal (or any text stream)."""

    def __init__(self, stream: TextIO | None = None, *, tz: tzinfo | None = None) -> None:
        self._stream = stream
        self._tz = tz

    def write(self, text: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(text + "\n\n")
        stream.flush()

    def plan(self, rows: Sequence[Delivery], sub: SubscriptionRecord | None) -> list[Unit]:
        return one_unit_per_row(rows)

    async def send(
        self, unit: Unit, sub: SubscriptionRecord | None, later: Sequence[Delivery]
    ) -> Outcome:
        for row in unit.rows:
            self._print(row)
        return Sent()

    def _print(self, row: Delivery) -> None:
        if row.alert is not None:
            when = row.created_at.astimezone(self._tz).strftime("%H:%M")
            self.write(f"{when}  {alert_text(row.alert)}")
            return
        change = row.change
        if change is None:  # digests and thread starters are Discord's; the console has none
            return
        story = row.story_name or ""
        if (
            isinstance(change, KeyPointsChanged)
            and not change.removed
            and (change.added == change.items)
        ):
            # The first version (a baseline): the story's key points, not a change of them.
            key_points = KeyPoints(change.kind, change.items)
            self.show_key_points(story, key_points, now=row.created_at)
            return
        self.write(format_change(change, story=story, tz=self._tz, now=row.created_at))

    def show_key_points(
        self, story: str, key_points: KeyPoints, *, now: datetime | None = None
    ) -> None:
        self.write(
            format_key_points(key_points, story=story, tz=self._tz, now=now or datetime.now(UTC))
        )

    def say(self, text: str) -> None:
        """A line of the console's own (not a change): what it is doing."""
        self.write(text)


class LogSink:
    """The console's alerts when no terminal reads them (Bulletin runs on Discord): the
    operator finds them in the log."""

    def plan(self, rows: Sequence[Delivery], sub: SubscriptionRecord | None) -> list[Unit]:
        return one_unit_per_row(rows)

    async def send(
        self, unit: Unit, sub: SubscriptionRecord | None, later: Sequence[Delivery]
    ) -> Outcome:
        for row in unit.rows:
            if row.alert is not None:
                log.warning("%s", alert_text(row.alert))
        return Sent(note="written to the log")
