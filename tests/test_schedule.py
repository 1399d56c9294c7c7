from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot import schedule
from bot.diff import EntryWrite, PollPlan
from bot.model import StatusChanged, StoryStatus
from bot.schedule import (
    BACKOFF_CAP,
    PROBE_INTERVAL,
    RETRY_AFTER_CAP,
    after_failure,
    backoff_delay,
    jittered,
    next_check,
    status_interval,
    story_status,
)
from bot.store import SiblingSource
from tests.builders import T0, entry

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def seconds_after(moment: datetime) -> float:
    return (moment - NOW).total_seconds()


@pytest.mark.parametrize(
    ("last_update_ago", "coverage_end", "expected"),
    [
        (timedelta(minutes=5), None, StoryStatus.LIVE),
        (2 * H - timedelta(seconds=1), None, StoryStatus.LIVE),
        (2 * H, None, StoryStatus.QUIET),
        (47 * H, None, StoryStatus.QUIET),
        (48 * H, None, StoryStatus.ENDED),
        (timedelta(minutes=1), NOW - timedelta(seconds=1), StoryStatus.ENDED),
        (timedelta(minutes=1), NOW, StoryStatus.ENDED),
        (timedelta(minutes=1), NOW + H, StoryStatus.LIVE),
        (3 * H, NOW + H, StoryStatus.QUIET),
    ],
)
def test_status_follows_time_since_last_update(last_update_ago, coverage_end, expected):
    status = story_status(
        NOW, last_update_at=NOW - last_update_ago, since=NOW - 100 * H, coverage_end=coverage_end
    )
    assert status is expected


@pytest.mark.parametrize(
    ("since_ago", "expected"),
    [(H, StoryStatus.LIVE), (3 * H, StoryStatus.QUIET), (49 * H, StoryStatus.ENDED)],
)
def test_status_without_any_update_counts_from_first_poll(since_ago, expected):
    assert story_status(NOW, last_update_at=None, since=NOW - since_ago) is expected


@pytest.mark.parametrize(
    ("status", "interval", "expected"),
    [
        (StoryStatus.LIVE, 60, 60),
        (StoryStatus.QUIET, 60, 240),
        (StoryStatus.QUIET, 300, 900),  # × 4 would be 20 min: capped at 15
        (StoryStatus.QUIET, 1800, 1800),  # never polled faster than when live
        (StoryStatus.ENDED, 60, 3600),
        (StoryStatus.ENDED, 7200, 7200),
    ],
)
def test_interval_for_status(status, interval, expected):
    assert status_interval(status, interval) == expected


def test_jitter_stays_within_ten_percent():
    rng = random.Random(1)
    values = [jittered(100, rng) for _ in range(200)]
    assert 90 <= min(values) < 95 and 105 < max(values) <= 110


def test_jitter_is_deterministic_for_a_seed():
    assert jittered(60, random.Random(7)) == jittered(60, random.Random(7))


def test_next_check_uses_the_status_interval():
    when = next_check(NOW, interval=60, status=StoryStatus.QUIET, rng=random.Random(3))
    assert 216 <= seconds_after(when) <= 264


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [
        (1, 30, 60),
        (2, 60, 120),
        (3, 120, 240),
        (5, 480, 960),
        (6, 900, 1800),
        (30, BACKOFF_CAP / 2, BACKOFF_CAP),
    ],
)
def test_backoff_doubles_per_failure_up_to_the_cap(failures, low, high):
    rng = random.Random(5)
    delays = [backoff_delay(failures, 60, rng) for _ in range(50)]
    assert low <= min(delays) and max(delays) <= high


def test_backoff_survives_huge_failure_counts():
    assert backoff_delay(10**9, 60, random.Random(0)) <= BACKOFF_CAP


def test_failure_below_threshold_is_not_a_pause():
    plan = after_failure(NOW, failures=9, interval=60, pause_after=10, rng=random.Random(0))
    assert plan.paused is False


def test_failure_at_threshold_pauses_and_probes_in_half_an_hour():
    plan = after_failure(NOW, failures=10, interval=60, pause_after=10, rng=random.Random(0))
    assert plan.paused is True
    assert 0.9 * PROBE_INTERVAL <= seconds_after(plan.next_check) <= 1.1 * PROBE_INTERVAL


def test_failed_probe_while_paused_stays_paused():
    plan = after_failure(NOW, failures=14, interval=60, pause_after=10, rng=random.Random(0))
    assert plan.paused is True


def test_retry_after_longer_than_backoff_is_honoured():
    plan = after_failure(
        NOW, failures=1, interval=60, pause_after=10, rng=random.Random(0), retry_after=600
    )
    assert seconds_after(plan.next_check) == 600


def test_retry_after_shorter_than_backoff_keeps_backoff():
    plan = after_failure(
        NOW, failures=5, interval=60, pause_after=10, rng=random.Random(0), retry_after=1
    )
    assert seconds_after(plan.next_check) >= 480


def test_retry_after_is_capped_at_a_day():
    plan = after_failure(
        NOW, failures=1, interval=60, pause_after=10, rng=random.Random(0), retry_after=10**9
    )
    assert seconds_after(plan.next_check) == RETRY_AFTER_CAP


def test_failure_plans_are_deterministic_for_a_seed():
    def plan() -> datetime:
        return after_failure(
            NOW, failures=3, interval=60, pause_after=10, rng=random.Random(42)
        ).next_check

    assert plan() == plan()


# --- a story's status from its sources' (pure) ---------------------------------------------------


def sibling(story: int, source: int, status: StoryStatus, paused: bool = False) -> SiblingSource:
    return SiblingSource(story_id=story, source_id=source, status=status, auto_paused=paused)


LIVE, QUIET, ENDED = StoryStatus.LIVE, StoryStatus.QUIET, StoryStatus.ENDED


def test_a_story_is_as_live_as_its_liveliest_source():
    assert schedule.liveliest([ENDED, QUIET]) is QUIET
    assert schedule.liveliest([ENDED, LIVE, QUIET]) is LIVE


def test_a_source_ending_while_another_runs_leaves_the_story_live():
    sources = [sibling(1, 7, LIVE), sibling(1, 8, LIVE)]
    assert schedule.story_status_changes(7, LIVE, ENDED, sources) == []


def test_the_last_running_source_ending_ends_the_story_once():
    sources = [sibling(1, 7, LIVE), sibling(1, 8, ENDED)]
    assert schedule.story_status_changes(7, LIVE, ENDED, sources) == [
        (1, StatusChanged(status=ENDED, previous=LIVE))
    ]


def test_sources_paused_by_failures_say_nothing_of_the_story():
    sources = [sibling(1, 7, LIVE), sibling(1, 8, LIVE, paused=True)]
    assert schedule.story_status_changes(7, LIVE, QUIET, sources) == [
        (1, StatusChanged(status=QUIET, previous=LIVE))
    ]


def test_each_story_sharing_the_source_is_judged_alone():
    sources = [sibling(1, 7, LIVE), sibling(2, 7, LIVE), sibling(2, 9, LIVE)]
    assert schedule.story_status_changes(7, LIVE, ENDED, sources) == [
        (1, StatusChanged(status=ENDED, previous=LIVE))
    ]


def test_new_updates_make_now_the_last_update():
    write = EntryWrite(entry(1), fingerprint=1, content_hash="h", posted=True)
    assert schedule.last_update_after(PollPlan(changes=(), inserts=(write,)), T0) == T0


def test_a_baseline_takes_its_newest_update_time_but_never_a_future_one():
    old, future = entry(1), replace(entry(2), published=T0 + timedelta(days=400))
    writes = tuple(EntryWrite(e, 1, "h") for e in (old,))
    baseline = PollPlan(changes=(), inserts=writes, takes_baseline=True)
    assert schedule.last_update_after(baseline, T0 + timedelta(hours=1)) == old.published
    ahead = PollPlan(changes=(), inserts=(EntryWrite(future, 1, "h"),), takes_baseline=True)
    assert schedule.last_update_after(ahead, T0) == T0


def test_a_poll_with_nothing_new_says_nothing_of_the_last_update():
    seen = PollPlan(changes=(), seen_ids=("e1",))
    assert schedule.last_update_after(seen, T0) is None
