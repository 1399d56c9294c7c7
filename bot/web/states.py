"""What state a source is in, as the operator reads it (pure).

One of: live, quiet, ended (its status, as its pages show it), failing (its last poll failed)
and paused (paused after repeated failures, or not polled because its story is paused). Paused
comes first, then failing, then the status.
"""

from __future__ import annotations

from enum import StrEnum

from bot.store import SourceRecord, SourceStates


class SourceState(StrEnum):
    LIVE = "live"
    QUIET = "quiet"
    ENDED = "ended"
    PAUSED = "paused"
    FAILING = "failing"


def state_of(*, status: str, failing: bool, auto_paused: bool, story_paused: bool) -> SourceState:
    """The state of a source from its facts."""
    if auto_paused or story_paused:
        return SourceState.PAUSED
    if failing:
        return SourceState.FAILING
    return SourceState(status)


def source_state(source: SourceRecord, *, story_paused: bool) -> SourceState:
    """The state of a source of a story (STORY_PAUSED: by a moderator, or out of the config)."""
    return state_of(
        status=source.status.value,
        failing=source.failures > 0,
        auto_paused=source.auto_paused,
        story_paused=story_paused,
    )


def count_states(groups: list[SourceStates]) -> dict[SourceState, int]:
    """How many sources are in each state (every state present, zero or not)."""
    counts = dict.fromkeys(SourceState, 0)
    for group in groups:
        state = state_of(
            status=group.status.value,
            failing=group.failing,
            auto_paused=group.auto_paused,
            story_paused=group.stories_paused,
        )
        counts[state] += group.count
    return counts
