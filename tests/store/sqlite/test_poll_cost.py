"""A poll's cost does not grow with the stored history (issue 3: O(snapshot) work, O(changes)
writes).

Counted, not timed: SQLite's progress handler counts the virtual-machine instructions a poll
runs (a scan of the history would add instructions per stored row; an index lookup adds one
whatever the table's size), and `total_changes` counts the rows it writes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.diff import id_key
from bot.model import EditedEntry, KeyPointsChanged, NewEntry
from bot.store import Store, open_store
from bot.store.codec import to_us
from tests.builders import T0, entry, poll, snap

WINDOW = 60  # updates on the page at each poll
STEP = 50  # instructions between two calls of the progress handler


@dataclass(frozen=True)
class Cost:
    instructions: int
    rows_written: int


async def add_history(store: Store, source: int, size: int) -> None:
    """SIZE entries seen long ago and no longer on the page, as many tombstones, key-point
    versions and delivered outbox rows: what a long-followed source accumulates."""
    old = to_us(T0 - timedelta(days=10))
    db = store._db
    await db.execute("BEGIN")
    await db.executemany(
        "INSERT INTO entries (source_id, entry_id, content_hash, fingerprint, title, text,"
        " published, first_seen, last_seen) VALUES (?, ?, 'h', 0, 't', 'x', ?, ?, ?)",
        [(source, f"old{n}", old, old, old) for n in range(size)],
    )
    await db.executemany(
        "INSERT INTO tombstones (source_id, key, pruned_at) VALUES (?, ?, ?)",
        [(source, id_key(f"gone{n}"), old) for n in range(size)],
    )
    await db.executemany(
        "INSERT INTO key_points (source_id, kind, items, added, removed, created_at)"
        " VALUES (?, 'summary', ?, '[]', '[]', ?)",
        [(source, json.dumps([f"point {n}"]), old) for n in range(size // 10)],
    )
    (subscription,) = await (await db.execute("SELECT id FROM subscriptions")).fetchone()
    await db.executemany(
        "INSERT INTO deliveries (subscription_id, source_id, entry_id, kind, payload, state,"
        " next_attempt, nonce, created_at) VALUES (?, ?, ?, 'new', '{}', 'sent', ?, ?, ?)",
        [(subscription, source, f"old{n}", old, f"n{n}", old) for n in range(size)],
    )
    await db.commit()


async def measured(store: Store, work: Callable[[], Awaitable[object]]) -> Cost:
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0  # 0: go on

    before = store._db.total_changes
    await store._db.set_progress_handler(tick, STEP)
    try:
        await work()
    finally:
        await store._db.set_progress_handler(None, STEP)
    return Cost(count[0] * STEP, store._db.total_changes - before)


async def poll_costs(db_path, history: int) -> tuple[Cost, Cost]:
    """(cost of an unchanged poll, cost of a poll with an edit, two new updates and a
    key-point change) of a source with HISTORY stored entries beside its page's."""
    store = await open_store(db_path)
    try:
        story = await store.ensure_story("Story", now=T0)
        source = await store.add_source(story, "https://example.org/live", now=T0)
        await store.subscribe(story, guild_id=None, channel_id=None, now=T0)
        await add_history(store, source, history)
        page = [entry(n) for n in range(WINDOW)]
        now = T0 + timedelta(minutes=1)

        async def apply(entries: list, key_points: tuple[str, ...]) -> tuple:
            return await poll(store, source, snap(*entries, key_points=key_points), now=now)

        await apply(page, ("first",))  # the baseline
        unchanged = await measured(store, lambda: apply(page, ("first",)))

        changed_page = [*page[1:], entry(0, "Corrected."), entry(WINDOW), entry(WINDOW + 1)]
        changes: list = []

        async def changed_poll() -> None:
            changes.extend(await apply(changed_page, ("first", "second")))

        changed = await measured(store, changed_poll)
        assert [type(c) for c in changes] == [EditedEntry, NewEntry, NewEntry, KeyPointsChanged]
        return unchanged, changed
    finally:
        await store.close()


@pytest.fixture(scope="module")
def costs(tmp_path_factory) -> dict[int, tuple[Cost, Cost]]:
    folder = tmp_path_factory.mktemp("cost")
    return {
        history: asyncio.run(poll_costs(folder / f"{history}.db", history))
        for history in (0, 1_000, 20_000)
    }


def test_an_unchanged_poll_writes_only_the_sources_row(costs):
    for unchanged, _ in costs.values():
        assert unchanged.rows_written == 1


def test_a_changed_poll_writes_in_proportion_to_its_changes(costs):
    # 2 inserts + 1 update + 1 key-point version + the source's row + 4 outbox rows (one per
    # change for the console subscription)
    for _, changed in costs.values():
        assert changed.rows_written == 9


@pytest.mark.parametrize("which", [0, 1], ids=["unchanged", "changed"])
def test_a_polls_work_does_not_grow_with_the_stored_history(costs, which):
    small = costs[1_000][which].instructions
    large = costs[20_000][which].instructions
    # twenty times the history: a scan would multiply the work; index lookups leave it flat
    assert large <= small * 1.05 + 2 * STEP
    assert costs[0][which].instructions <= small * 1.05 + 2 * STEP
