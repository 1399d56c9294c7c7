"""Diff + store: CPU per poll of a 500 KB live page with 400 updates, changed and unchanged,
and how it grows with the stored history (1,000 to 100,000 entries of the same source)."""

from __future__ import annotations

import asyncio
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import cpu_ms, table
from bot.diff import SourceState, StoredEntry, fingerprint, plan
from bot.model import Entry, KeyPoints, KeyPointsKind, Snapshot, SourceKind
from bot.polling.pipeline import record_snapshot
from bot.store import SQLiteStore
from bot.store.codec import to_us
from bot.text import content_hash

T0 = datetime(2024, 3, 1, tzinfo=UTC)
WINDOW = 400
TEXT_CHARS = 1250  # 400 × 1,250 ≈ 500 KB of text
REPEAT = 30
WORDS = [
    "officials",
    "said",
    "the",
    "rescue",
    "teams",
    "reached",
    "the",
    "coast",
    "overnight",
    "while",
    "residents",
    "waited",
    "for",
    "news",
    "of",
    "relatives",
    "and",
    "the",
    "ministry",
    "promised",
    "a",
    "full",
    "statement",
    "later",
    "in",
    "the",
    "day",
]


def make_entry(n: int) -> Entry:
    words = []
    size = 0
    i = n
    while size < TEXT_CHARS:
        word = WORDS[i % len(WORDS)]
        words.append(word)
        size += len(word) + 1
        i = i * 7 + 3
    text = " ".join(words)
    # paragraphs, as extraction produces them
    text = text[: TEXT_CHARS // 2] + "\n\n" + text[TEXT_CHARS // 2 :]
    return Entry(
        id=f"https://example.org/live#update-{n}",
        title=f"Update number {n}",
        text=text[:TEXT_CHARS],
        url=f"https://example.org/live#update-{n}",
        published=T0 + timedelta(minutes=n),
    )


def snapshot(first: int) -> Snapshot:
    """The page when its window starts at update `first` (one poll later: one update more)."""
    return Snapshot(
        kind=SourceKind.LIVEBLOG,
        title="Synthetic live page",
        entries=tuple(POOL[first : first + WINDOW]),
        key_points=KeyPoints(KeyPointsKind.SUMMARY, ("First point.", "Second point.")),
    )


POOL = [make_entry(n) for n in range(WINDOW + REPEAT * 2 + 20)]


async def fill_history(store: SQLiteStore, source_id: int, count: int) -> None:
    """`count` old entries of the same source, not on the page any more (short texts)."""
    seen = to_us(T0 - timedelta(days=10))
    rows = [
        (source_id, f"old-{k}", f"{k:032x}", k, f"Old {k}", "Old text " * 10, seen, seen)
        for k in range(count)
    ]
    await store._db.executemany(
        "INSERT INTO entries (source_id, entry_id, content_hash, fingerprint, title, text,"
        " first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


class Scenario:
    """A store whose one source has taken its baseline, polled from a synchronous timer."""

    def __init__(self, folder: Path, history: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.rng = random.Random(1)
        self.store = self.loop.run_until_complete(SQLiteStore.open(folder / f"bench-{history}.db"))
        self.source = self.loop.run_until_complete(self._setup(history))
        self.first = 0
        self.now = T0

    async def _setup(self, history: int) -> int:
        story = await self.store.ensure_story("Bench", now=T0)
        source = await self.store.add_source(story, "https://example.org/live", now=T0)
        for channel in (1, 2, 3):
            await self.store.subscribe(story, guild_id=1, channel_id=channel, now=T0)
        await fill_history(self.store, source, history)
        await record_snapshot(self.store, source, snapshot(0), now=T0, rng=self.rng)
        return source

    def poll(self, snap: Snapshot) -> None:
        self.now += timedelta(seconds=1)  # within the hour: no last_seen refresh
        self.loop.run_until_complete(
            record_snapshot(self.store, self.source, snap, now=self.now, rng=self.rng)
        )

    def changed(self) -> None:
        self.first += 1  # the window slides: one new update at the top
        self.poll(snapshot(self.first))

    def unchanged(self) -> None:
        self.poll(snapshot(self.first))

    def close(self) -> None:
        self.loop.run_until_complete(self.store.close())
        self.loop.close()


def diff_only() -> tuple[float, float]:
    """The pure diff alone, for the same page: (changed, unchanged) CPU ms."""
    stored = {
        e.id: StoredEntry(content_hash(e.title, e.text), fingerprint(e.title, e.text))
        for e in POOL[:WINDOW]
    }
    state = SourceState(baseline_taken=True, entries=stored, key_points=("First point.",))
    changed_snap = snapshot(1)
    same = snapshot(0)
    same_state = SourceState(
        baseline_taken=True, entries=stored, key_points=("First point.", "Second point.")
    )
    return (
        cpu_ms(lambda: plan(state, changed_snap), repeat=REPEAT),
        cpu_ms(lambda: plan(same_state, same), repeat=REPEAT),
    )


def run() -> None:
    page_kb = sum(len(e.text.encode()) + len((e.title or "").encode()) for e in POOL[:WINDOW])
    print("## Diff and store\n")
    print(
        f"One poll of a live page with {WINDOW} updates ({page_kb // 1000} KB of text), "
        "three subscribed channels; `changed`: the window slides by one new update (one "
        "`new` change, three outbox rows); `unchanged`: the same snapshot again. CPU time of "
        "the whole recording of the poll (`bot.polling.pipeline.record_snapshot`: diff, "
        f"routing, SQLite reads and writes, commit; WAL, synchronous=NORMAL), median of "
        f"{REPEAT}.\n"
    )
    changed_diff, unchanged_diff = diff_only()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bulletin-bench-") as folder:
        for history in (1_000, 10_000, 100_000):
            scenario = Scenario(Path(folder), history)
            try:
                changed = cpu_ms(scenario.changed, repeat=REPEAT, warmup=3)
                unchanged = cpu_ms(scenario.unchanged, repeat=REPEAT, warmup=3)
            finally:
                scenario.close()
            rows.append([f"{history:,}", f"{changed:.2f}", f"{unchanged:.2f}"])
    print(table(["stored entries", "changed poll (ms CPU)", "unchanged poll (ms CPU)"], rows))
    print(
        f"\nThe pure diff alone (`bot.diff.plan`): changed {changed_diff:.2f} ms, "
        f"unchanged {unchanged_diff:.2f} ms. Aim: ≤ 3 ms for a changed poll, flat in history."
    )
