from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.delivery.console import (
    format_change,
    format_edit,
    format_key_points,
    format_key_points_change,
    format_new_entry,
    format_status_change,
    word_diff,
)
from bot.model import (
    EditedEntry,
    Entry,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    StatusChanged,
    StoryStatus,
)

PLUS_TWO = timezone(timedelta(hours=2))
T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
TEXT = (
    "The river crested overnight just below the flood defences. Volunteers filled sandbags "
    "until dawn and the council says the bridge will stay shut until engineers inspect it."
)
ENTRY = Entry(
    id="u1",
    title="River crests below defences",
    text=TEXT,
    url="https://gazette.example/live#u1",
    published=T0,
)


def test_new_update_starts_with_local_time_story_and_title():
    first = format_new_entry(ENTRY, story="River watch", tz=PLUS_TWO).splitlines()[0]
    assert first == "11:30  [River watch] River crests below defences"


def test_new_update_text_is_wrapped_to_the_width():
    lines = format_new_entry(ENTRY, tz=UTC, width=60).splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert " ".join(line.strip() for line in lines[1:-1]) == TEXT


def test_new_update_ends_with_its_link():
    assert format_new_entry(ENTRY, tz=UTC).splitlines()[-1].strip() == ENTRY.url


def test_update_without_text_says_so():
    entry = Entry(id="u2", title="Photo", text="", published=T0)
    assert "(no text)" in format_new_entry(entry, tz=UTC)


def test_terminal_control_sequences_from_sources_are_removed():
    entry = Entry(id="u3", title="\x1b[2JHello", text="a\x1b]0;owned\x07b", published=T0)
    assert "\x1b" not in format_new_entry(entry, tz=UTC)
    assert "\x07" not in format_new_entry(entry, tz=UTC)


@pytest.mark.parametrize(
    ("before", "after", "diff"),
    [
        ("gusts of 80 mph", "gusts of 90 mph", "gusts of [-80-] {+90+} mph"),
        ("the bridge is shut", "the bridge is shut tonight", "the bridge is shut {+tonight+}"),
        ("roads are closed now", "roads closed now", "roads [-are-] closed now"),
        ("same", "same", "same"),
    ],
)
def test_word_diff_marks_removed_and_added_words(before, after, diff):
    assert word_diff(before, after) == diff


def test_word_diff_shortens_long_unchanged_stretches():
    before = " ".join(f"w{i}" for i in range(40)) + " old"
    after = " ".join(f"w{i}" for i in range(40)) + " new"
    assert word_diff(before, after) == "… w36 w37 w38 w39 [-old-] {+new+}"


def test_edit_shows_what_changed_in_the_text():
    change = EditedEntry(ENTRY, ENTRY.title, TEXT.replace("overnight", "at midnight"))
    out = format_edit(change, tz=UTC)
    assert out.splitlines()[0] == "09:30  edited: River crests below defences"
    assert "[-at midnight-] {+overnight+}" in out


def test_edit_shows_a_changed_title_before_and_after():
    change = EditedEntry(ENTRY, "River crests", TEXT)
    assert "title: River crests → River crests below defences" in format_edit(change, tz=UTC)


def test_key_point_change_lists_added_and_removed():
    change = KeyPointsChanged(
        KeyPointsKind.SUMMARY, added=("Bridge shut",), removed=("Bridge open",), items=("x",)
    )
    lines = format_key_points_change(change, story="River watch").splitlines()
    assert lines[0].strip() == "[River watch] key points changed:"
    assert lines[1:] == ["    + Bridge shut", "    - Bridge open"]


def test_current_key_points_are_listed_as_bullets():
    key_points = KeyPoints(KeyPointsKind.KEY_EVENTS, ("River crested", "Bridge shut"))
    lines = format_key_points(key_points, story="River watch").splitlines()
    assert lines[0].strip() == "[River watch] Key events:"
    assert lines[1:] == ["    • River crested", "    • Bridge shut"]


def test_long_key_points_wrap_under_their_bullet():
    key_points = KeyPoints(KeyPointsKind.SUMMARY, ("word " * 40,))
    lines = format_key_points(key_points, width=50).splitlines()[1:]
    assert lines[0].startswith("    • ")
    assert all(line.startswith("      ") for line in lines[1:])


def test_status_change_says_coverage_ended():
    change = StatusChanged(StoryStatus.ENDED, StoryStatus.LIVE)
    now = T0
    assert format_status_change(change, story="River watch", tz=UTC, now=now) == (
        "09:30  [River watch] coverage ended"
    )


@pytest.mark.parametrize(
    ("change", "marker"),
    [
        (NewEntry(ENTRY), "River crests below defences"),
        (EditedEntry(ENTRY, None, "old"), "edited:"),
        (KeyPointsChanged(KeyPointsKind.SUMMARY, ("a",), (), ("a",)), "key points changed"),
        (StatusChanged(StoryStatus.ENDED, StoryStatus.LIVE), "coverage ended"),
    ],
)
def test_format_change_handles_every_kind_as_readable_text(change, marker):
    out = format_change(change, tz=UTC, now=T0)
    assert marker in out
    assert not out.lstrip().startswith(("{", "["))
