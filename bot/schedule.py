"""When to poll a source next: pure functions of plain values (no I/O, no clock, no global RNG).

The poller stores what these return (next check, pause) in the database. Randomness comes in as
a `random.Random`, so tests pass a seeded one and get the same answers every time.

Policy (issue 4, ARCHITECTURE rule 8):
- after a successful poll: the story's interval for its status, ±10 % jitter so sources added
  together drift apart;
- status: `live` while updates arrive; `quiet` after 2 h without one (interval × 4, at most
  15 minutes, never faster than live); `ended` when the coverage end time has passed or after 48 h
  without one (hourly);
- after a failure: exponential backoff from the interval (×2 per consecutive failure) capped at
  30 minutes, with "equal jitter" (half fixed, half random); a Retry-After is honoured when
  longer (up to 24 h); after `pause_after_failures` consecutive failures the source is paused
  and probed every 30 minutes until it answers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.diff import PollPlan
from bot.model import StatusChanged, StoryStatus
from bot.store.poll_record import SiblingSource

JITTER = 0.1
QUIET_AFTER = timedelta(hours=2)
ENDED_AFTER = timedelta(hours=48)
QUIET_FACTOR = 4
QUIET_MAX = 15 * 60
ENDED_INTERVAL = 60 * 60
BACKOFF_CAP = 30 * 60
PROBE_INTERVAL = 30 * 60
RETRY_AFTER_CAP = 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class FailurePlan:
    """What to do after a failed poll: when to try again, and whether the source is now paused."""

    next_check: datetime
    paused: bool


def jittered(seconds: float, rng: random.Random, fraction: float = JITTER) -> float:
    """SECONDS moved by up to ±FRACTION of itself, at random."""
    return seconds * (1 + rng.uniform(-fraction, fraction))


def story_status(
    now: datetime,
    *,
    last_update_at: datetime | None,
    since: datetime,
    coverage_end: datetime | None = None,
) -> StoryStatus:
    """How lively a source is. SINCE is when it was first polled, used when it never updated."""
    if coverage_end is not None and coverage_end <= now:
        return StoryStatus.ENDED
    quiet_for = now - (last_update_at if last_update_at is not None else since)
    if quiet_for >= ENDED_AFTER:
        return StoryStatus.ENDED
    if quiet_for >= QUIET_AFTER:
        return StoryStatus.QUIET
    return StoryStatus.LIVE


def status_interval(status: StoryStatus, interval: int) -> int:
    """Seconds between polls for a story in STATUS whose live interval is INTERVAL."""
    if status is StoryStatus.QUIET:
        return max(interval, min(interval * QUIET_FACTOR, QUIET_MAX))
    if status is StoryStatus.ENDED:
        return max(interval, ENDED_INTERVAL)
    return interval


def next_check(
    now: datetime, *, interval: int, status: StoryStatus, rng: random.Random
) -> datetime:
    """When to poll again after a successful poll (changed, unchanged or not modified)."""
    return now + timedelta(seconds=jittered(status_interval(status, interval), rng))


def backoff_delay(failures: int, interval: int, rng: random.Random) -> float:
    """Seconds to wait after FAILURES consecutive failures (1 = the first), jittered, capped."""
    exponent = min(max(failures, 1) - 1, 32)  # bounded so the power cannot grow without end
    ceiling = min(float(BACKOFF_CAP), interval * 2.0**exponent)
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def after_failure(
    now: datetime,
    *,
    failures: int,
    interval: int,
    pause_after: int,
    rng: random.Random,
    retry_after: float | None = None,
) -> FailurePlan:
    """Plan after a failed poll. FAILURES counts this one; RETRY_AFTER is the source's ask (s).

    A Retry-After counts as a failure too, so a source that asks forever still gets paused.
    """
    paused = failures >= pause_after
    delay = jittered(PROBE_INTERVAL, rng) if paused else backoff_delay(failures, interval, rng)
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, 0.0), float(RETRY_AFTER_CAP)))
    return FailurePlan(next_check=now + timedelta(seconds=delay), paused=paused)


def last_update_after(plan: PollPlan, now: datetime) -> datetime | None:
    """When something new last appeared, as a poll with PLAN tells (None: it does not tell).
    New updates say now; a baseline (a page added mid-story) says its newest update's time,
    never later than now (a date in the future, a typo or year 9999, must not keep a story
    live for ever)."""
    if any(write.posted for write in plan.inserts):
        return now
    if plan.takes_baseline and plan.found_something:
        dates = [write.entry.published for write in plan.inserts if write.entry.published]
        return min(max(dates), now) if dates else now
    return None


_LIVELINESS = (StoryStatus.ENDED, StoryStatus.QUIET, StoryStatus.LIVE)


def liveliest(statuses: Iterable[StoryStatus]) -> StoryStatus:
    """The liveliest of some statuses: a story is as live as its liveliest source."""
    return max(statuses, key=_LIVELINESS.index)


def story_status_changes(
    source_id: int,
    before: StoryStatus,
    after: StoryStatus,
    sources: Sequence[SiblingSource],
) -> list[tuple[int, StatusChanged]]:
    """(story id, change) for each story whose status moves when this source's goes from
    BEFORE to AFTER. SOURCES: every source of the stories using it (`Store.sibling_sources`).

    A story's status is the liveliest of its sources not paused by failures (those say
    nothing of it), so a story whose feed went stale while its live page runs is not ended,
    and a story whose two sources end together ends once."""
    others: dict[int, list[StoryStatus]] = {}
    for sibling in sources:
        statuses = others.setdefault(sibling.story_id, [])
        if sibling.source_id != source_id and not sibling.auto_paused:
            statuses.append(sibling.status)
    changes = []
    for story_id, active in others.items():
        was = liveliest([before, *active])
        now_is = liveliest([after, *active])
        if was != now_is:
            changes.append((story_id, StatusChanged(status=now_is, previous=was)))
    return changes
