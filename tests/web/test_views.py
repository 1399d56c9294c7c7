"""What the page says of a source: its state and how its last poll went (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.model import StoryStatus
from bot.store import PollOutcome
from bot.web.app import ago
from bot.web.metrics import PollSeen
from bot.web.states import SourceState, source_state
from bot.web.views import last_outcome
from tests.builders import T0, source_record

SOURCE = source_record(url="https://ex.org/live", last_polled=T0, status=StoryStatus.QUIET)


@pytest.mark.parametrize(
    ("changes", "story_paused", "state"),
    [
        ({}, False, SourceState.QUIET),
        ({"status": StoryStatus.ENDED}, False, SourceState.ENDED),
        ({"failures": 2}, False, SourceState.FAILING),
        ({"failures": 10, "auto_paused_at": T0}, False, SourceState.PAUSED),
        ({}, True, SourceState.PAUSED),
    ],
)
def test_a_sources_state_puts_paused_first_then_failing_then_its_status(
    changes, story_paused, state
):
    assert source_state(replace(SOURCE, **changes), story_paused=story_paused) is state


def test_the_last_outcome_is_this_processs_own_record_when_it_made_the_last_poll():
    seen = PollSeen(T0 + timedelta(seconds=1), PollOutcome.CHANGED, 0.1, 100, 3, None)
    assert last_outcome(SOURCE, [seen]) == "read a new version: 3 changes"
    older = replace(seen, at=T0 - timedelta(minutes=1), outcome=PollOutcome.NOT_MODIFIED)
    assert last_outcome(SOURCE, [older]) == "nothing new"  # another process polled since


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"last_polled": None}, "not polled yet"),
        ({"failures": 1}, "failed"),
        ({"last_changed": T0}, "found changes"),
        ({}, "nothing new"),
    ],
)
def test_the_last_outcome_otherwise_comes_from_the_sources_row(changes, words):
    assert last_outcome(replace(SOURCE, **changes), []) == words


def test_times_are_said_relative_to_now():
    assert ago(T0 - timedelta(seconds=20), T0) == "20 s ago"
    assert ago(T0 + timedelta(minutes=5), T0) == "in 5 min"
    assert ago(T0 - timedelta(days=3), T0) == "3 days ago"
