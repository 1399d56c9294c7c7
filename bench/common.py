"""Helpers shared by the benchmarks: timing and where the shared fixtures are."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def cpu_ms(function: Callable[[], object], *, repeat: int = 30, warmup: int = 3) -> float:
    """Median process CPU time of one call, in milliseconds."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        started = time.process_time_ns()
        function()
        samples.append((time.process_time_ns() - started) / 1e6)
    return statistics.median(samples)


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


async def analyze(url: str) -> None:
    """Statistics for the PostgreSQL tables a benchmark just filled, as a database in use has
    them: planned without, a poll's queries may scan where an index would do, and asyncpg's
    prepared statements keep such a plan until autovacuum's ANALYZE comes, a minute or more
    later. BULLETIN_BENCH_PG_ANALYZE=0 leaves it to autovacuum (the figures before this)."""
    if os.environ.get("BULLETIN_BENCH_PG_ANALYZE", "1") != "1":
        return
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
