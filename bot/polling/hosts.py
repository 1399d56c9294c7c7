"""Due sources waiting for their host: a queue per host, and the hosts whose turn may come.

`per_host` bounds the fetches in flight to one host, and nothing else does: the poller takes
the next source of a host as soon as one of that host's fetches ends (`fetched`), not at the
next tick. Hosts take turns (`take` goes round the hosts that have a source waiting and a free
place), so a long queue of one host never holds back the sources of another.

A politeness rate (`[polling] per_host_rate`, fetches a second to one host; off by default) is
the one other bound, and an explicit one: a host whose next start is not due yet rests, and
`rested_until` tells the poller when to look again.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from bot.store import SourceRecord


class HostQueues:
    """Sources waiting per host, and fetches in flight per host (at most `per_host`)."""

    def __init__(
        self,
        per_host: int,
        *,
        rate: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_host = per_host
        # at a rate, the time between two starts of one host's fetches (0: none)
        self._spacing = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._next_start: dict[str, float] = {}  # (at a rate) a host's next start, at the soonest
        self._resting: dict[str, float] = {}  # hosts ready but for the rate, until when
        self._waiting: dict[str, deque[SourceRecord]] = {}
        self._fetching = Counter[str]()
        # Hosts with a source waiting and a free place, in turn; `_turns` mirrors it as a set.
        self._ready: deque[str] = deque()
        self._turns: set[str] = set()
        self._count = 0

    def __len__(self) -> int:
        """Sources waiting (not yet taken)."""
        return self._count

    def fetching(self, host: str) -> int:
        return self._fetching[host]

    def add(self, source: SourceRecord, host: str) -> None:
        self._waiting.setdefault(host, deque()).append(source)
        self._count += 1
        self._offer(host)

    def take(self) -> tuple[SourceRecord, str] | None:
        """The next source whose host has a free place (counted as fetching), or None."""
        if not self._ready:
            return None
        host = self._ready.popleft()
        self._turns.discard(host)
        waiting = self._waiting[host]
        source = waiting.popleft()
        if not waiting:
            del self._waiting[host]
        self._count -= 1
        self._fetching[host] += 1
        if self._spacing:
            self._next_start[host] = self._clock() + self._spacing
        self._offer(host)  # back at the end of the round if it may start another
        return source, host

    def fetched(self, host: str) -> None:
        """One fetch of HOST ended (whatever its outcome): its place is free."""
        self._fetching[host] -= 1
        if self._fetching[host] <= 0:
            del self._fetching[host]
            start = self._next_start.get(host)
            if start is not None and host not in self._waiting and start <= self._clock():
                del self._next_start[host]  # the map keeps only the hosts that matter
        self._offer(host)

    def rested_until(self) -> float | None:
        """When the first host resting for the rate may start again (its clock's time), after
        waking those whose rest is over; None when none rests."""
        if not self._resting:
            return None
        now = self._clock()
        for host in [host for host, until in self._resting.items() if until <= now]:
            del self._resting[host]
            self._offer(host)
        return min(self._resting.values(), default=None)

    def _offer(self, host: str) -> None:
        waiting, free = host in self._waiting, self._fetching[host] < self._per_host
        if not (waiting and free) or host in self._turns or host in self._resting:
            return
        if self._spacing:
            until = self._next_start.get(host, 0.0)
            if until > self._clock():
                self._resting[host] = until
                return
        self._ready.append(host)
        self._turns.add(host)


@lru_cache(maxsize=16384)  # the same URLs come back at every poll; parsing one is not free
def host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""
