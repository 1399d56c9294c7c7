"""The metrics: an `Observer` that counts what polling and delivery tell it, in a Prometheus
registry of its own, served at /metrics in the text format.

Counters and histograms move as things happen (the poller, the dispatcher and the Discord bot
report through `runtime.observer`); the gauges of what the store holds (sources by state, the
outbox's backlog) and of the gateway are read when scraped (`refresh`). Every family exists in
every mode; the label values of outcomes, kinds and states are all present from the start (at
zero), while HTTP statuses, commands and shards appear as they are seen.

The last few polls of each source are kept here too (in memory, for this process), for the
status page.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bot.model import Changes, DeliveryOutcome, EditedEntry, KeyPointsChanged, NewEntry
from bot.observe import Observer, Shard
from bot.store import PollOutcome, Store
from bot.web.states import SourceState, count_states

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

POLL_OUTCOMES = ("changed", "not_modified", "unchanged", "failed")
CHANGE_KINDS = ("new", "edited", "key_points", "status")
DELIVERY_OUTCOMES = {
    DeliveryOutcome.SENT: "sent",
    DeliveryOutcome.RETRY: "retried",
    DeliveryOutcome.PAUSED: "paused",
    DeliveryOutcome.GIVEN_UP: "given_up",
}
POLL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
WAIT_BUCKETS = (0.0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RECENT_POLLS = 10  # kept per source for the status page


@dataclass(frozen=True, slots=True)
class PollSeen:
    """One poll of a source, as this process saw it."""

    at: datetime
    outcome: PollOutcome
    seconds: float
    size: int
    changes: int
    error: str | None


class Metrics(Observer):
    """Bulletin's metrics in their own registry (several may live in one process: tests)."""

    def __init__(self) -> None:
        # No `*_created` series: they double every family's lines and no one graphs them. The
        # switch is the client's own, for the whole process (Bulletin has only this registry).
        disable_created_metrics()  # type: ignore[no-untyped-call]  # the client left it bare
        self.registry = registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.polls = Counter(
            "bulletin_polls_total", "Polls of sources, by outcome", ["outcome"], registry=registry
        )
        self.poll_duration = Histogram(
            "bulletin_poll_duration_seconds",
            "Seconds from the start of a poll's fetch until its outcome is stored",
            buckets=POLL_BUCKETS,
            registry=registry,
        )
        self.fetch_bytes = Counter(
            "bulletin_fetch_bytes_total",
            "Bytes of source bodies read (after decompression)",
            registry=registry,
        )
        self.sources = Gauge(
            "bulletin_sources", "Sources in use, by state", ["status"], registry=registry
        )
        self.changes = Counter(
            "bulletin_changes_total", "Changes found by polls, by kind", ["kind"], registry=registry
        )
        self.outbox_pending = Gauge(
            "bulletin_outbox_pending", "Outbox rows waiting to be delivered", registry=registry
        )
        self.outbox_oldest = Gauge(
            "bulletin_outbox_oldest_seconds",
            "Age of the oldest outbox row waiting to be delivered (0: none waits)",
            registry=registry,
        )
        self.deliveries = Counter(
            "bulletin_deliveries_total",
            "Outbox rows per attempt to deliver them, by outcome",
            ["outcome"],
            registry=registry,
        )
        self.discord_requests = Counter(
            "bulletin_discord_requests_total",
            "Requests to Discord's HTTP API, by the status it answered",
            ["status"],
            registry=registry,
        )
        self.rate_limiter_wait = Histogram(
            "bulletin_rate_limiter_wait_seconds",
            "Seconds a request to Discord waited for Bulletin's own rate limiter",
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.gateway_latency = Gauge(
            "bulletin_gateway_latency_seconds",
            "Heartbeat latency of each connected gateway shard",
            ["shard"],
            registry=registry,
        )
        self.commands = Counter(
            "bulletin_command_invocations_total",
            "Slash commands run by members, by command",
            ["command"],
            registry=registry,
        )
        for outcome in POLL_OUTCOMES:
            self.polls.labels(outcome)
        for kind in CHANGE_KINDS:
            self.changes.labels(kind)
        for label in DELIVERY_OUTCOMES.values():
            self.deliveries.labels(label)
        for state in SourceState:
            self.sources.labels(state.value)
        self.recent: dict[int, deque[PollSeen]] = {}

    # --- what happens (Observer) -----------------------------------------------------------

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
        self.polls.labels(outcome.value).inc()
        self.poll_duration.observe(seconds)
        if size:
            self.fetch_bytes.inc(size)
        for change in changes:
            self.changes.labels(_kind(change)).inc()
        if status_moved:
            self.changes.labels("status").inc()
        seen = PollSeen(datetime.now(UTC), outcome, seconds, size, len(changes), error)
        kept = self.recent.get(source_id)
        if kept is None:
            kept = self.recent[source_id] = deque(maxlen=RECENT_POLLS)
        kept.append(seen)

    def delivered(self, outcome: DeliveryOutcome, rows: int) -> None:
        self.deliveries.labels(DELIVERY_OUTCOMES[outcome]).inc(rows)

    def discord_answered(self, status: int) -> None:
        self.discord_requests.labels(str(status)).inc()

    def rate_limiter_waited(self, seconds: float) -> None:
        self.rate_limiter_wait.observe(seconds)

    def command_invoked(self, command: str) -> None:
        self.commands.labels(command).inc()

    # --- what is (read when scraped) -------------------------------------------------------

    async def refresh(self, store: Store, shards: Sequence[Shard] = ()) -> None:
        """Set the gauges from the store and the gateway, as they are now."""
        for state, count in count_states(await store.source_states()).items():
            self.sources.labels(state.value).set(count)
        backlog = await store.outbox_backlog()
        self.outbox_pending.set(sum(server.pending for server in backlog))
        oldest = min((server.oldest for server in backlog), default=None)
        age = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
        self.outbox_oldest.set(max(age, 0.0))
        self.gateway_latency.clear()
        for shard in shards:
            if shard.connected and shard.latency is not None:
                self.gateway_latency.labels(str(shard.id)).set(shard.latency)

    def recent_polls(self, source_id: int) -> list[PollSeen]:
        """This process's last polls of a source, newest first."""
        return list(reversed(self.recent.get(source_id, ())))

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)


def _kind(change: object) -> str:
    if isinstance(change, NewEntry):
        return "new"
    if isinstance(change, EditedEntry):
        return "edited"
    if isinstance(change, KeyPointsChanged):
        return "key_points"
    return "status"


__all__ = ["CONTENT_TYPE", "Metrics", "PollSeen"]
