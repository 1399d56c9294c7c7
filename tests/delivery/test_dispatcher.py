"""The dispatcher drains a real SQLite outbox into sinks: in order, once, with retries."""

from __future__ import annotations

import asyncio
import io
import random
from datetime import UTC, datetime, timedelta

from bot.delivery.dispatcher import MAX_ATTEMPTS, Dispatcher, retry_delay
from bot.delivery.sinks import ConsoleSink, one_unit_per_row
from bot.model import Entry, FailureReason, KeyPoints, KeyPointsKind, Snapshot, SourceKind
from bot.outcome import GivenUp, Retry, Sent
from bot.store import Store, open_store
from tests.builders import fail, poll

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def update(n: int) -> Entry:
    return Entry(
        id=f"u{n}",
        title=f"Ferry timetable note {n}",
        text=f"Sailing number {n} leaves at the usual time.",
        published=T0 + timedelta(minutes=n),
    )


def snapshot(count: int, key_points: tuple[str, ...] = ()) -> Snapshot:
    return Snapshot(
        kind=SourceKind.LIVEBLOG,
        entries=tuple(update(n) for n in range(1, count + 1)),
        key_points=KeyPoints(KeyPointsKind.SUMMARY, key_points) if key_points else None,
    )


class FlakySink:
    """Fails the first `failures` sends (retry, or given up when `permanent`), then records
    what it is given."""

    def __init__(self, failures: int = 0, *, permanent: bool = False) -> None:
        self.failures = failures
        self.permanent = permanent
        self.sent: list[str] = []

    def plan(self, rows, sub):
        return one_unit_per_row(rows)

    async def send(self, unit, sub, later):
        if self.failures:
            self.failures -= 1
            if self.permanent:
                return GivenUp(FailureReason.REFUSED, "far end said no")
            return Retry(FailureReason.NETWORK, "far end said no")
        self.sent.append(unit.rows[0].entry_id)
        return Sent(1000 + len(self.sent))


async def outbox_with_updates(store: Store, count: int) -> int:
    """A console-subscribed story whose second poll found COUNT new updates."""
    story = await store.ensure_story("Ferries", now=T0)
    source = await store.add_source(story, "https://news.example/ferries", now=T0)
    await store.subscribe(story, guild_id=None, channel_id=None, now=T0)
    await poll(
        store,
        source,
        snapshot(0, ("Ferries run",)),
        now=T0,
        etag=None,
        last_modified=None,
        body_hash="a",
    )
    await poll(
        store,
        source,
        snapshot(count, ("Ferries run",)),
        now=T0 + timedelta(minutes=1),
        etag=None,
        last_modified=None,
        body_hash="b",
    )
    return story


async def test_console_prints_each_change_once_in_order(store):
    await outbox_with_updates(store, 3)
    out = io.StringIO()
    dispatcher = Dispatcher(store, {"console": ConsoleSink(out)})
    assert await dispatcher.drain() == 4  # the baseline's key points, then 3 updates
    assert await dispatcher.drain() == 0
    text = out.getvalue()
    positions = [text.index(f"Ferry timetable note {n}") for n in (1, 2, 3)]
    assert positions == sorted(positions)
    assert text.index("Ferries run") < positions[0]
    assert all(text.count(f"Ferry timetable note {n}") == 1 for n in (1, 2, 3))


async def test_the_first_key_points_are_shown_as_key_points_not_as_a_change(store):
    await outbox_with_updates(store, 0)
    out = io.StringIO()
    await Dispatcher(store, {"console": ConsoleSink(out)}).drain()
    assert "Key points:" in out.getvalue()
    assert "changed" not in out.getvalue()


async def test_nothing_is_printed_twice_across_a_restart(tmp_path):
    path = tmp_path / "bulletin.db"
    store = await open_store(path)
    await outbox_with_updates(store, 3)
    first = io.StringIO()
    sink = ConsoleSink(first)
    delivery = (await store.pending_deliveries(T0 + timedelta(hours=1)))[0]
    (unit,) = sink.plan([delivery], None)
    outcome = await sink.send(unit, None, ())
    await store.record_delivery([delivery], outcome, now=T0)  # one row sent, then "dies"
    await store.close()

    store = await open_store(path)
    try:
        second = io.StringIO()
        await Dispatcher(store, {"console": ConsoleSink(second)}).drain()
    finally:
        await store.close()
    assert "Ferries run" in first.getvalue()
    assert "Ferries run" not in second.getvalue()
    assert all(f"Ferry timetable note {n}" in second.getvalue() for n in (1, 2, 3))


async def test_a_failed_send_is_retried_later_and_holds_back_later_rows(store):
    await outbox_with_updates(store, 2)
    clock = Clock()
    clock.now = T0 + timedelta(minutes=5)
    sink = FlakySink(failures=1)
    dispatcher = Dispatcher(store, {"console": sink}, clock=clock, rng=random.Random(1))
    assert await dispatcher.drain() == 0
    assert sink.sent == []
    clock.now += timedelta(seconds=10)  # past the first backoff (1 to 2 s)
    assert await dispatcher.drain() == 3
    assert sink.sent == [None, "u1", "u2"]


async def test_a_permanent_failure_marks_the_delivery_undeliverable(store):
    await outbox_with_updates(store, 0)
    sink = FlakySink(failures=1, permanent=True)
    dispatcher = Dispatcher(store, {"console": sink})
    await dispatcher.drain()
    assert await store.pending_deliveries(T0 + timedelta(days=1)) == []
    assert sink.sent == []


async def test_deliveries_without_a_running_sink_stay_pending(store):
    story = await outbox_with_updates(store, 1)
    await store.subscribe(story, guild_id=5, channel_id=50, now=T0)
    await poll(
        store,
        (await store.sources_of_story(story))[0].id,
        snapshot(2, ("Ferries run",)),
        now=T0 + timedelta(minutes=2),
        etag=None,
        last_modified=None,
        body_hash="c",
    )
    await Dispatcher(store, {"console": ConsoleSink(io.StringIO())}).drain()
    left = await store.pending_deliveries(T0 + timedelta(days=1))
    assert [d.target for d in left] == ["discord"]


async def test_a_sink_that_raises_unexpectedly_is_retried_not_fatal(store):
    await outbox_with_updates(store, 0)

    class Broken(FlakySink):
        async def send(self, unit, sub, later):
            raise RuntimeError("bug in a sink")

    await Dispatcher(store, {"console": Broken()}, clock=Clock()).drain()
    pending = await store.pending_deliveries(T0 + timedelta(days=1))
    assert pending[0].attempts == 1


async def test_run_delivers_promptly_when_woken(store):
    out = io.StringIO()
    wakeup = asyncio.Event()
    stop = asyncio.Event()
    dispatcher = Dispatcher(store, {"console": ConsoleSink(out)}, wakeup=wakeup, idle=60)
    task = asyncio.create_task(dispatcher.run(stop))
    await asyncio.sleep(0.05)
    await outbox_with_updates(store, 1)
    wakeup.set()
    for _ in range(100):
        if "Ferry timetable note 1" in out.getvalue():
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert "Ferry timetable note 1" in out.getvalue()


def test_retry_delays_grow_and_honour_retry_after():
    rng = random.Random(3)
    assert 1 <= retry_delay(1, rng) <= 2
    assert 8 <= retry_delay(4, rng) <= 16
    assert retry_delay(1, rng, retry_after=30) == 30
    assert retry_delay(MAX_ATTEMPTS, rng) <= 600


async def test_an_alert_that_keeps_failing_is_given_up_after_the_attempt_cap(store):
    story = await outbox_with_updates(store, 0)
    source = (await store.sources_of_story(story))[0].id
    await fail(store, source, now=T0, error="HTTP 500", pause_after=1)
    clock = Clock()
    sink = FlakySink(failures=10_000)
    dispatcher = Dispatcher(store, {"console": sink}, clock=clock, rng=random.Random(1))
    for _ in range(MAX_ATTEMPTS):
        clock.now += timedelta(hours=1)  # past any backoff
        await dispatcher.drain()
    # nothing went out, and nothing is due any more: given up, alert and updates alike
    assert sink.sent == []
    assert await store.pending_deliveries(clock.now + timedelta(days=1)) == []
