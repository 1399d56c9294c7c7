"""The never-new-twice property through the real store: restarts, pruning and failed polls."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.model import NewEntry
from bot.store import open_store
from tests.builders import T0, entry, fail, poll, snap

POOL = 10


@st.composite
def polls(draw: st.DrawFn) -> list[tuple[int, list[int] | None, bool]]:
    """(days since the previous poll, window of pool numbers or None for a failure, restart)."""
    steps = []
    versions = [0] * POOL
    for _ in range(draw(st.integers(1, 7))):
        gap = draw(st.sampled_from([0, 1, 20, 40]))
        if draw(st.integers(0, 4)) == 0:
            steps.append((gap, None, draw(st.booleans())))
            continue
        start = draw(st.integers(0, POOL - 1))
        window = list(range(start, min(POOL, start + draw(st.integers(0, 5)))))
        window = draw(st.permutations(window))
        for n in draw(st.lists(st.sampled_from(range(POOL)), max_size=2)):
            versions[n] += 1
        steps.append((gap, [n * 100 + versions[n] for n in window], draw(st.booleans())))
    return steps


async def run_polls(path: Path, steps: list[tuple[int, list[int] | None, bool]]) -> tuple:
    store = await open_store(path)
    story = await store.ensure_story("P", now=T0)
    source = await store.add_source(story, "https://ex.org/p", now=T0)
    now = T0
    announced: list[str] = []
    must: set[str] = set()
    seen: set[str] = set()
    baseline = False
    try:
        for gap, window, restart in steps:
            now += timedelta(days=gap, minutes=1)
            if window is None:
                await fail(store, source, now=now, error="boom", pause_after=3)
            else:
                # n // 100 is the pool entry, n % 100 its version (an edit)
                entries = [entry(n // 100, f"v{n % 100}", dated=n // 100 % 3 != 0) for n in window]
                ids = {e.id for e in entries}
                if baseline:
                    must |= ids - seen
                changes = await poll(store, source, snap(*entries), now=now)
                announced += [c.entry.id for c in changes if isinstance(c, NewEntry)]
                baseline = baseline or bool(entries)
                seen |= ids
            await store.prune(now, retention=timedelta(days=30))
            if restart:
                await store.close()
                store = await open_store(path)
    finally:
        await store.close()
    return announced, must


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polls())
def test_store_never_announces_an_entry_twice_and_announces_every_unseen_one(steps):
    with tempfile.TemporaryDirectory() as folder:
        announced, must = asyncio.run(run_polls(Path(folder) / "p.db", steps))
    assert len(announced) == len(set(announced))
    assert set(announced) == must
