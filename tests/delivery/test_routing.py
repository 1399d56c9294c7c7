"""Which subscription gets which change: pure functions, no store."""

from __future__ import annotations

import time

import pytest

from bot.delivery.routing import (
    MAX_PATTERN,
    left_out_by,
    passes,
    pattern_refusal,
    pings_for_updates,
    receives,
    route,
)
from bot.model import (
    EditedEntry,
    Filters,
    KeyPointsChanged,
    KeyPointsKind,
    LeftOutReason,
    Mode,
    NewEntry,
    StatusChanged,
    StoryStatus,
)
from bot.store import LeftOut, Routed, Subscriber
from tests.builders import entry

NEW = NewEntry(entry(1, title="Ferry resumes"))
EDIT = EditedEntry(entry(2, title="Ferry delayed"), "Ferry late", "old words")
KEY_POINTS = KeyPointsChanged(KeyPointsKind.SUMMARY, ("a",), (), ("a",))
ENDED = StatusChanged(StoryStatus.ENDED, StoryStatus.LIVE)


def subscriber(
    sub_id: int,
    mode: Mode = Mode.UPDATES,
    keywords: str | None = None,
    story=1,
    *,
    exclusions: str | None = None,
    pattern: str | None = None,
):
    return Subscriber(
        subscription_id=sub_id,
        story_id=story,
        mode=mode,
        keywords=keywords,
        exclusions=exclusions,
        pattern=pattern,
    )


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
    assert routed.deliveries == (Routed(3, NEW), Routed(3, KEY_POINTS), Routed(5, KEY_POINTS))


def test_a_storys_status_change_goes_only_to_that_storys_subscribers_after_the_rest():
    subs = [subscriber(1, story=10), subscriber(2, story=20)]
    routed = route((NEW,), subs, [(20, ENDED)])
    assert routed.deliveries == (Routed(1, NEW), Routed(2, NEW), Routed(2, ENDED))
    assert routed.left_out == ()


# ---- filters: keywords, exclusions, a pattern ----------------------------------------------------

FERRY = entry(1, "The ferry to Skye resumes at noon; unconfirmed reports of delays.", title="Ferry")


@pytest.mark.parametrize(
    ("filters", "verdict"),
    [
        (Filters(), None),
        (Filters(keywords="skye"), None),
        (Filters(keywords="mull, iona"), (LeftOutReason.KEYWORDS, "mull, iona")),
        (Filters(keywords="sky"), (LeftOutReason.KEYWORDS, "sky")),  # whole words only
        (Filters(exclusions="rumour"), None),
        (
            Filters(exclusions="rumour, Unconfirmed"),
            (LeftOutReason.EXCLUSIONS, "rumour, Unconfirmed"),
        ),
        (Filters(exclusions="report"), None),  # whole words: "reports" is not "report"
        (Filters(pattern=r"resumes at \w+"), None),
        (Filters(pattern=r"RESUMES\s+AT"), None),  # any case
        (Filters(pattern=r"^ferry$"), None),  # the title alone
        (Filters(pattern=r"cancelled|suspended"), (LeftOutReason.PATTERN, "cancelled|suspended")),
        # keywords first, then exclusions, then the pattern
        (
            Filters(keywords="mull", exclusions="unconfirmed", pattern="x"),
            (LeftOutReason.KEYWORDS, "mull"),
        ),
        (
            Filters(keywords="skye", exclusions="unconfirmed", pattern="x"),
            (LeftOutReason.EXCLUSIONS, "unconfirmed"),
        ),
        (Filters(keywords="skye", exclusions="rumour", pattern="x"), (LeftOutReason.PATTERN, "x")),
    ],
)
def test_filters_say_which_of_them_leaves_an_update_out_with_its_value(filters, verdict):
    assert left_out_by(filters, FERRY) == verdict
    assert passes(filters, FERRY) is (verdict is None)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence: \\1"),  # backreferences: not in RE2
        (r"(?<=ferry) resumes", "invalid perl operator: (?<"),  # look-behind: not in RE2
        (r"ferry (resumes", "missing ): ferry (resumes"),
        (r"(a{99}){99}", "invalid repetition size: {99}"),  # nested counts
        (r"\pL{1000}", "pattern too large - compile failed"),  # over RE2's memory budget
    ],
)
def test_a_pattern_re2_refuses_is_refused_with_re2s_reason(pattern, reason):
    assert reason in (pattern_refusal(pattern) or "")


def test_a_pattern_over_the_length_limit_is_refused_and_one_at_it_is_taken():
    assert pattern_refusal("a" * MAX_PATTERN) is None
    assert pattern_refusal("a" * (MAX_PATTERN + 1)) == "it is 201 characters long; the most is 200"


def test_a_pattern_that_backtracks_for_ever_in_pythons_re_takes_linear_time():
    # (a+)+$ on "aaa…ab" takes exponential time in a backtracking engine; RE2 reads it once
    hostile = entry(1, "a" * 100_000 + "b", title="a" * 5_000 + "!")
    started = time.process_time()
    for _ in range(10):
        assert not passes(Filters(pattern=r"(a+)+$"), hostile)
        assert not passes(Filters(pattern=r"(x+x+)+y"), hostile)
    assert time.process_time() - started < 1.0


def test_a_lone_surrogate_in_an_update_neither_breaks_nor_blocks_a_pattern():
    odd = entry(1, "ferry \ud800 resumes")
    assert passes(Filters(pattern="ferry"), odd)
    assert not passes(Filters(pattern="cancelled"), odd)


def test_a_stored_pattern_re2_no_longer_takes_matches_nothing():
    assert left_out_by(Filters(pattern="(?<=a)b"), FERRY) == (LeftOutReason.PATTERN, "(?<=a)b")


@pytest.mark.parametrize(
    ("filters", "pings"),
    [
        (Filters(), False),
        (Filters(exclusions="rumour"), False),  # nothing picked: every update, no ping
        (Filters(keywords="skye"), True),
        (Filters(pattern="skye"), True),
        (Filters(keywords="skye", exclusions="rumour"), True),
    ],
)
def test_updates_ping_only_when_the_filters_pick_them(filters, pings):
    assert pings_for_updates(filters) is pings


def test_exclusions_and_a_pattern_filter_updates_and_edits_but_never_key_points_or_status():
    sub = subscriber(1, exclusions="delayed", pattern="ferry")
    assert receives(sub, NEW)
    assert not receives(sub, EDIT)  # "Ferry delayed": excluded
    assert not receives(subscriber(1, pattern="^bus"), NEW)
    assert receives(sub, KEY_POINTS) and receives(sub, ENDED)


# ---- why a subscription is left without an update --------------------------------------------


def test_route_says_why_each_subscriber_is_left_without_an_update_or_an_edit():
    subs = [
        subscriber(1),
        subscriber(2, keywords="bus"),
        subscriber(3, exclusions="delayed"),
        subscriber(4, pattern="^ferry resumes$"),
        subscriber(5, Mode.KEY_POINTS),
    ]
    routing = route((EDIT, NEW, KEY_POINTS), subs)
    assert routing.deliveries == (
        Routed(1, EDIT),
        Routed(1, NEW),
        Routed(3, NEW),
        Routed(4, NEW),
        Routed(1, KEY_POINTS),
        Routed(2, KEY_POINTS),
        Routed(3, KEY_POINTS),
        Routed(4, KEY_POINTS),
        Routed(5, KEY_POINTS),
    )
    assert routing.left_out == (
        LeftOut(2, EDIT, LeftOutReason.KEYWORDS, "bus"),
        LeftOut(3, EDIT, LeftOutReason.EXCLUSIONS, "delayed"),
        LeftOut(4, EDIT, LeftOutReason.PATTERN, "^ferry resumes$"),
        LeftOut(5, EDIT, LeftOutReason.MODE, "key-points"),
        LeftOut(2, NEW, LeftOutReason.KEYWORDS, "bus"),
        LeftOut(5, NEW, LeftOutReason.MODE, "key-points"),
    )


def test_a_digest_is_left_without_an_update_only_by_its_filters():
    """A digest takes its updates when its period closes: one that passes its filters is
    neither routed nor left out now; one that does not is left out, saying which filter."""
    passing = route((NEW,), [subscriber(1, Mode.DIGEST, keywords="ferry")])
    assert passing == route((), [])
    failing = route((NEW,), [subscriber(1, Mode.DIGEST, keywords="bus")])
    assert failing.deliveries == ()
    assert failing.left_out == (LeftOut(1, NEW, LeftOutReason.KEYWORDS, "bus"),)
