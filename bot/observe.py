"""What the running parts tell whoever watches them: the `Observer` the poller, the dispatcher
and the Discord bot report to, and the `Gateway` view the Discord bot gives of itself.

The base `Observer` does nothing, so that polling and delivery cost nothing extra when no one
watches (tests, benchmarks, a run without the web window). The web window's metrics
(`bot.web.metrics.Metrics`) is an Observer that counts; the composition root hands it to the
`Runtime`, and the parts below report through `runtime.observer` without knowing who listens
(they never import bot.web, nor prometheus_client).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.model import Changes, DeliveryOutcome
from bot.store.poll_record import PollOutcome


class Observer:
    """Hears what happens; this one forgets it at once. Every method is cheap and never
    raises: it is called on the hot paths of polling and delivery."""

    def polled(
        self,
        source_id: int,
        outcome: PollOutcome,
        *,
        seconds: float,
        size: int,
        changes: Changes = (),
        status_moved: bool = False,
        error: str | None = None,
    ) -> None:
        """One poll of a source was recorded: how it went, how long it took from the fetch to
        the store, how many bytes it read, what it found (and the error of a failed one)."""

    def delivered(self, outcome: DeliveryOutcome, rows: int) -> None:
        """One attempt to deliver ROWS outbox rows (one message) ended so."""

    def discord_answered(self, status: int) -> None:
        """Discord answered one HTTP request with STATUS (429s included)."""

    def rate_limiter_waited(self, seconds: float) -> None:
        """A request to Discord waited this long for our own rate limiter."""

    def command_invoked(self, command: str) -> None:
        """A member ran a slash command (its qualified name, e.g. "source add")."""


@dataclass(frozen=True, slots=True)
class Shard:
    """One gateway shard this process holds: connected now or not, and its heartbeat latency
    in seconds (None until a heartbeat has been answered)."""

    id: int
    connected: bool
    latency: float | None


class Gateway(Protocol):
    """What the Discord connection says of itself, for readiness, metrics and the status page
    (the operator's: server and channel names are shown only there)."""

    def gateway_shards(self) -> Sequence[Shard]:
        """Every shard this process holds."""
        ...

    def holds_gateway(self) -> bool:
        """Whether this process holds any gateway shard at all (`--shard-ids none`: no)."""
        ...

    def guild_name(self, guild_id: int) -> str | None:
        """The server's name, when the connection knows it."""
        ...

    def channel_name(self, channel_id: int) -> str | None:
        """The channel's (or thread's) name, when the connection knows it."""
        ...


__all__ = ["Gateway", "Observer", "Shard"]
