"""Rendering cost: CPU per payload for typical and worst-case changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.common import cpu_ms, table
from bot.delivery.console import format_change
from bot.delivery.render import (
    RenderContext,
    batch_updates,
    render_digest,
    render_key_points_change,
    render_updates,
    update_embed,
)
from bot.model import Entry, KeyPoints, KeyPointsChanged, KeyPointsKind, NewEntry

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CTX = RenderContext(
    story_name="Harbour flood", story_key=1, source_name="Gazette", source_url="https://g.example/"
)
SENTENCE = "The river crested overnight, just below the *defences* at Mill Lane. "


def _entry(n: int, sentences: int) -> Entry:
    return Entry(
        id=str(n),
        title=f"Update {n}: levels falling @everyone",
        text=SENTENCE * sentences,
        url=f"https://g.example/live#u{n}",
        published=T0 + timedelta(minutes=n),
    )


def one_update(change: NewEntry) -> object:
    """The message of one new update, as the Discord sink builds it."""
    return render_updates([update_embed(change.entry, CTX)])


def run() -> None:
    typical = NewEntry(_entry(1, 5))
    huge = NewEntry(_entry(2, 3000))  # ~200 KB of text
    forty = [update_embed(_entry(n, 8), CTX) for n in range(40)]
    entries = [_entry(n, 3) for n in range(100)]
    points = tuple(f"Point {i}: " + SENTENCE for i in range(30))
    current = KeyPoints(KeyPointsKind.SUMMARY, points)
    change = KeyPointsChanged(KeyPointsKind.SUMMARY, points[:3], ("Old point",), points)
    rows = [
        ["new update (5 sentences)", f"{cpu_ms(lambda: one_update(typical)):.3f}"],
        ["new update (200 KB text)", f"{cpu_ms(lambda: one_update(huge)):.3f}"],
        [
            "key points change (30 items)",
            f"{cpu_ms(lambda: render_key_points_change(change, CTX)):.3f}",
        ],
        ["batch of 40 update embeds", f"{cpu_ms(lambda: batch_updates(forty)):.3f}"],
        [
            "digest of 100 updates + key points",
            f"{cpu_ms(lambda: render_digest(entries, current, CTX)):.3f}",
        ],
        ["console text of one update", f"{cpu_ms(lambda: format_change(typical)):.3f}"],
    ]
    print("## Rendering\n")
    print(table(["payload", "CPU ms (median)"], rows))
