"""The metrics registry: every family with its type and label values, counted as the parts
report, and the gauges read from the store and the gateway when scraped."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from bot.model import (
    DeliveryOutcome,
    EditedEntry,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
)
from bot.observe import Shard
from bot.store import PollOutcome, open_store
from bot.web.metrics import Metrics
from tests.builders import T0, entry, fail, poll, snap

FAMILIES = {
    "bulletin_polls": "counter",
    "bulletin_poll_duration_seconds": "histogram",
    "bulletin_fetch_bytes": "counter",
    "bulletin_sources": "gauge",
    "bulletin_changes": "counter",
    "bulletin_outbox_pending": "gauge",
    "bulletin_outbox_oldest_seconds": "gauge",
    "bulletin_deliveries": "counter",
    "bulletin_discord_requests": "counter",
    "bulletin_rate_limiter_wait_seconds": "histogram",
    "bulletin_gateway_latency_seconds": "gauge",
    "bulletin_command_invocations": "counter",
}
LABELS = {
    "bulletin_polls": ("outcome", {"changed", "not_modified", "unchanged", "failed"}),
    "bulletin_sources": ("status", {"live", "quiet", "ended", "paused", "failing"}),
    "bulletin_changes": ("kind", {"new", "edited", "key_points", "status"}),
    "bulletin_deliveries": ("outcome", {"sent", "retried", "paused", "given_up"}),
}


def families(metrics: Metrics) -> dict:
    text = metrics.exposition().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(metrics: Metrics, name: str, **labels: str) -> float:
    for family in families(metrics).values():
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"no sample {name} {labels}")


def test_every_family_is_there_with_its_type_from_the_start():
    found = families(Metrics())
    assert {name: found[name].type for name in FAMILIES} == FAMILIES


def test_outcomes_kinds_and_states_have_exactly_the_listed_label_values():
    found = families(Metrics())
    for name, (label, values) in LABELS.items():
        seen = {s.labels[label] for s in found[name].samples if label in s.labels}
        assert seen == values, name
        assert all(s.value == 0 for s in found[name].samples)


def test_discord_families_are_empty_until_discord_says_something():
    found = families(Metrics())
    for name in (
        "bulletin_discord_requests",
        "bulletin_gateway_latency_seconds",
        "bulletin_command_invocations",
    ):
        assert found[name].samples == [], name


def test_the_clients_process_metrics_are_served_too():
    found = families(Metrics())
    assert "process_cpu_seconds" in found
    assert "process_resident_memory_bytes" in found


def test_a_poll_counts_its_outcome_duration_bytes_and_changes():
    metrics = Metrics()
    changes = (
        NewEntry(entry(1)),
        NewEntry(entry(2)),
        EditedEntry(entry(3), "Old", "old"),
        KeyPointsChanged(KeyPointsKind.SUMMARY, ("a",), (), ("a",)),
    )
    metrics.polled(1, PollOutcome.CHANGED, seconds=0.2, size=5000, changes=changes)
    metrics.polled(1, PollOutcome.NOT_MODIFIED, seconds=0.01, size=0, status_moved=True)
    metrics.polled(2, PollOutcome.FAILED, seconds=3.0, size=0, error="HTTP 500 from x")
    assert value(metrics, "bulletin_polls_total", outcome="changed") == 1
    assert value(metrics, "bulletin_polls_total", outcome="not_modified") == 1
    assert value(metrics, "bulletin_polls_total", outcome="failed") == 1
    assert value(metrics, "bulletin_poll_duration_seconds_count") == 3
    assert value(metrics, "bulletin_poll_duration_seconds_bucket", le="0.25") == 2
    assert value(metrics, "bulletin_fetch_bytes_total") == 5000
    assert value(metrics, "bulletin_changes_total", kind="new") == 2
    assert value(metrics, "bulletin_changes_total", kind="edited") == 1
    assert value(metrics, "bulletin_changes_total", kind="key_points") == 1
    assert value(metrics, "bulletin_changes_total", kind="status") == 1
    (failed,) = metrics.recent_polls(2)
    assert (failed.outcome, failed.error) == (PollOutcome.FAILED, "HTTP 500 from x")
    assert [p.outcome for p in metrics.recent_polls(1)] == [
        PollOutcome.NOT_MODIFIED,
        PollOutcome.CHANGED,
    ]


def test_deliveries_count_rows_by_outcome_and_discord_by_status_and_command():
    metrics = Metrics()
    metrics.delivered(DeliveryOutcome.SENT, 3)
    metrics.delivered(DeliveryOutcome.RETRY, 1)
    metrics.delivered(DeliveryOutcome.GIVEN_UP, 1)
    metrics.discord_answered(200)
    metrics.discord_answered(429)
    metrics.discord_answered(429)
    metrics.rate_limiter_waited(0.0)
    metrics.rate_limiter_waited(0.02)
    metrics.command_invoked("source add")
    assert value(metrics, "bulletin_deliveries_total", outcome="sent") == 3
    assert value(metrics, "bulletin_deliveries_total", outcome="retried") == 1
    assert value(metrics, "bulletin_deliveries_total", outcome="given_up") == 1
    assert value(metrics, "bulletin_discord_requests_total", status="429") == 2
    assert value(metrics, "bulletin_rate_limiter_wait_seconds_count") == 2
    assert value(metrics, "bulletin_rate_limiter_wait_seconds_bucket", le="0.0") == 1
    assert value(metrics, "bulletin_command_invocations_total", command="source add") == 1


def test_only_the_last_few_polls_of_a_source_are_kept():
    metrics = Metrics()
    for _ in range(25):
        metrics.polled(1, PollOutcome.UNCHANGED, seconds=0.01, size=10)
    assert len(metrics.recent_polls(1)) == 10


async def test_a_scrape_reads_sources_by_state_and_the_outbox_from_the_store(tmp_path):
    store = await open_store(tmp_path / "m.db")
    try:
        story = await store.ensure_story("s", guild_id=1, now=T0)
        live = await store.add_source(story, "https://ex.org/live", now=T0)
        broken = await store.add_source(story, "https://ex.org/broken", now=T0)
        await store.subscribe(story, guild_id=1, channel_id=5, now=T0)
        await poll(store, live, snap(entry(1)))
        await poll(store, live, snap(entry(1), entry(2)), T0 + timedelta(minutes=1))
        await fail(store, broken)
        metrics = Metrics()
        await metrics.refresh(store, [Shard(0, True, 0.042), Shard(1, False, None)])
    finally:
        await store.close()
    assert value(metrics, "bulletin_sources", status="live") == 1
    assert value(metrics, "bulletin_sources", status="failing") == 1
    assert value(metrics, "bulletin_sources", status="paused") == 0
    assert value(metrics, "bulletin_outbox_pending") == 1
    assert value(metrics, "bulletin_outbox_oldest_seconds") > 3600  # written at T0 + 1 min
    assert value(metrics, "bulletin_gateway_latency_seconds", shard="0") == 0.042
    shards = {
        s.labels["shard"] for s in families(metrics)["bulletin_gateway_latency_seconds"].samples
    }
    assert shards == {"0"}  # a shard not connected has no latency
