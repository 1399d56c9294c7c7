"""Which subscription gets which change: pure functions, no store."""

from __future__ import annotations

import pytest

from bot.delivery.routing import receives, route
from bot.model import (
    EditedEntry,
    KeyPointsChanged,
    KeyPointsKind,
    Mode,
    NewEntry,
    StatusChanged,
    StoryStatus,
)
from bot.store import Routed, Subscriber
from tests.builders import entry

NEW = NewEntry(entry(1, title="Ferry resumes"))
EDIT = EditedEntry(entry(2, title="Ferry delayed"), "Ferry late", "old words")
KEY_POINTS = KeyPointsChanged(KeyPointsKind.SUMMARY, ("a",), (), ("a",))
ENDED = StatusChanged(StoryStatus.ENDED, StoryStatus.LIVE)


def subscriber(sub_id: int, mode: Mode = Mode.UPDATES, keywords: str | None = None, story=1):
    return Subscriber(subscription_id=sub_id, story_id=story, mode=mode, keywords=keywords)


@pytest.mark.parametrize(
    ("mode", "wanted"),
    [
        (Mode.UPDATES, [NEW, EDIT, KEY_POINTS, ENDED]),
        (Mode.KEY_POINTS, [KEY_POINTS, ENDED]),
        (Mode.DIGEST, [EDIT]),  # a correction, if a digest showed the update already
    ],
)
def test_a_mode_decides_the_kinds_of_change_a_subscription_receives(mode, wanted):
    sub = subscriber(1, mode)
    assert [c for c in (NEW, EDIT, KEY_POINTS, ENDED) if receives(sub, c)] == wanted


def test_keywords_filter_updates_and_edits_but_never_key_points_or_status():
    sub = subscriber(1, keywords="ferry resumes")
    assert receives(sub, NEW)
    assert not receives(sub, EDIT)  # "Ferry delayed": not the phrase
    assert receives(sub, KEY_POINTS) and receives(sub, ENDED)


def test_changes_go_out_in_order_for_each_subscriber_in_id_order():
    routed = route((NEW, KEY_POINTS), [subscriber(3), subscriber(5, Mode.KEY_POINTS)])
    assert routed == (Routed(3, NEW), Routed(3, KEY_POINTS), Routed(5, KEY_POINTS))


def test_a_storys_status_change_goes_only_to_that_storys_subscribers_after_the_rest():
    subs = [subscriber(1, story=10), subscriber(2, story=20)]
    routed = route((NEW,), subs, [(20, ENDED)])
    assert routed == (Routed(1, NEW), Routed(2, NEW), Routed(2, ENDED))
