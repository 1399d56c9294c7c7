"""A per-member command rate: a token bucket per (server, member).

A member may run `per_minute` commands at once, then one more every 60/per_minute seconds.
Autocomplete is not counted (Discord sends one per keystroke); only commands are.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

IDLE_FORGET = 3600.0  # buckets untouched this long are full again: drop them to bound memory


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class CommandRate:
    """`take(guild_id, member_id)` → 0.0 when the command may run, else the seconds to wait."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[tuple[int | None, int], _Bucket] = {}
        self._swept = clock()

    def take(self, guild_id: int | None, member_id: int) -> float:
        if self.per_minute <= 0:
            return 0.0
        now = self._clock()
        self._sweep(now)
        rate = self.per_minute / 60.0  # tokens per second
        bucket = self._buckets.get((guild_id, member_id))
        if bucket is None:
            bucket = self._buckets[(guild_id, member_id)] = _Bucket(float(self.per_minute), now)
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate

    def _sweep(self, now: float) -> None:
        if now - self._swept < IDLE_FORGET:
            return
        self._swept = now
        stale = [key for key, b in self._buckets.items() if now - b.at >= IDLE_FORGET]
        for key in stale:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def try_again_text(wait: float) -> str:
    """The friendly refusal: "…try again in 7 seconds."."""
    seconds = max(1, math.ceil(wait))
    unit = "second" if seconds == 1 else "seconds"
    return (
        f"You're sending commands faster than Bulletin takes them; try again in {seconds} {unit}."
    )
