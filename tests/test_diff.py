"""The diff rules, one test each, and the property that no entry is ever new twice."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.diff import SourceState, StoredEntry, diff, fingerprint, plan
from bot.model import (
    EditedEntry,
    Entry,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    Snapshot,
)
from bot.text import content_hash
from tests import builders
from tests.builders import entry


def snap(*entries: Entry, key_points: KeyPoints | None = None) -> Snapshot:
    return builders.snap(*entries, key_points=key_points)


def summary(*items: str) -> KeyPoints:
    return KeyPoints(KeyPointsKind.SUMMARY, items)


def state_of(
    *entries: Entry, key_points: tuple[str, ...] | None = None, **kw: object
) -> SourceState:
    """The state a store holds after having seen these entries (baseline taken)."""
    stored = {
        e.id: StoredEntry(
            content_hash=content_hash(e.title, e.text),
            fingerprint=fingerprint(e.title, e.text),
            title=e.title,
            text=e.text,
        )
        for e in entries
    }
    return SourceState(baseline_taken=True, entries=stored, key_points=key_points, **kw)  # type: ignore[arg-type]


def new_ids(changes: tuple[object, ...]) -> list[str]:
    return [c.entry.id for c in changes if isinstance(c, NewEntry)]


# --- baseline -------------------------------------------------------------------------------


def test_baseline_announces_no_entries():
    changes = diff(SourceState(), snap(entry(1), entry(2)))
    assert changes == ()


def test_baseline_reports_key_points_all_added():
    changes = diff(SourceState(), snap(entry(1), key_points=summary("a", "b")))
    assert changes == (KeyPointsChanged(KeyPointsKind.SUMMARY, ("a", "b"), (), ("a", "b")),)


def test_baseline_stores_every_entry_unannounced():
    result = plan(SourceState(), snap(entry(1), entry(2)))
    assert result.takes_baseline
    assert [(w.entry.id, w.posted) for w in result.inserts] == [("e1", False), ("e2", False)]


def test_poll_that_finds_nothing_does_not_take_the_baseline():
    result = plan(SourceState(), snap())
    assert result.changes == ()
    assert not result.found_something
    assert result.inserts == ()


# --- new entries ----------------------------------------------------------------------------


def test_unseen_entry_after_baseline_is_new():
    assert new_ids(diff(state_of(entry(1)), snap(entry(1), entry(2)))) == ["e2"]


def test_new_entries_come_oldest_first_whatever_the_page_order():
    changes = diff(state_of(entry(1)), snap(entry(4), entry(2), entry(3), entry(1)))
    assert new_ids(changes) == ["e2", "e3", "e4"]


def test_undated_new_entries_keep_the_snapshot_order():
    entries = [entry(3, dated=False), entry(2, dated=False)]
    assert new_ids(diff(state_of(entry(1)), snap(entry(1), *entries))) == ["e3", "e2"]


def test_entry_that_left_the_window_and_returned_is_not_new():
    # the state holds e1 although the previous poll's window no longer showed it
    assert new_ids(diff(state_of(entry(1), entry(2)), snap(entry(1), entry(3)))) == ["e3"]


def test_pruned_entry_with_a_tombstone_is_not_new():
    state = state_of(entry(1), forgotten=frozenset({"e9"}))
    assert new_ids(diff(state, snap(entry(1), entry(9, dated=False)))) == []


def test_duplicate_ids_in_one_snapshot_first_wins():
    first = entry(2, "first words")
    second = entry(2, "second words")
    result = plan(state_of(entry(1)), snap(entry(1), first, second))
    assert result.changes == (NewEntry(first),)
    assert [w.entry for w in result.inserts] == [first]


# --- edits ----------------------------------------------------------------------------------


def test_changed_text_is_an_edit_with_the_previous_words():
    changes = diff(state_of(entry(1, "Old words.")), snap(entry(1, "New words.")))
    assert changes == (EditedEntry(entry(1, "New words."), "Update 1", "Old words."),)


def test_changed_title_is_an_edit():
    changes = diff(state_of(entry(1, title="Old")), snap(entry(1, title="New")))
    assert [type(c) for c in changes] == [EditedEntry]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Two  spaces here.", "Two spaces here."),
        ("Line one.\n\nLine two.", "Line one. Line two."),
        ("  padded ", "padded"),
        ("non\u00a0breaking", "non breaking"),
        (unicodedata.normalize("NFD", "café déjà"), unicodedata.normalize("NFC", "café déjà")),
    ],
    ids=["double-space", "paragraphs", "padding", "nbsp", "nfd-vs-nfc"],
)
def test_cosmetic_change_is_not_an_edit(before, after):
    result = plan(state_of(entry(1, before)), snap(entry(1, after)))
    assert result.changes == ()


def test_cosmetic_change_refreshes_the_stored_fingerprint_silently():
    result = plan(state_of(entry(1, "a  b")), snap(entry(1, "a b")))
    assert [(w.entry.text, w.posted) for w in result.updates] == [("a b", False)]


def test_unchanged_entry_writes_nothing():
    result = plan(state_of(entry(1), entry(2)), snap(entry(1), entry(2)))
    assert (result.changes, result.inserts, result.updates) == ((), (), ())
    assert result.seen_ids == ("e1", "e2")


# --- key points -----------------------------------------------------------------------------


def test_key_points_change_lists_added_and_removed():
    changes = diff(state_of(key_points=("a", "b")), snap(key_points=summary("b", "c")))
    assert changes == (KeyPointsChanged(KeyPointsKind.SUMMARY, ("c",), ("a",), ("b", "c")),)


@pytest.mark.parametrize(
    "key_points",
    [
        None,
        KeyPoints(KeyPointsKind.EXTRACTED, ("something else entirely",)),
        summary(),
        summary("b", "a"),
        summary("a ", "  b"),
    ],
    ids=["null", "extracted", "empty", "reordered", "whitespace"],
)
def test_key_points_that_change_nothing(key_points):
    assert (
        diff(state_of(entry(1), key_points=("a", "b")), snap(entry(1), key_points=key_points)) == ()
    )


def test_extracted_key_points_are_never_versioned():
    result = plan(
        SourceState(), snap(entry(1), key_points=KeyPoints(KeyPointsKind.EXTRACTED, ("x",)))
    )
    assert result.key_points is None
    assert result.changes == ()


def test_key_events_kind_is_reported():
    kp = KeyPoints(KeyPointsKind.KEY_EVENTS, ("x",))
    (change,) = diff(state_of(entry(1)), snap(entry(1), key_points=kp))
    assert change == KeyPointsChanged(KeyPointsKind.KEY_EVENTS, ("x",), (), ("x",))


def test_one_poll_orders_edited_then_new_then_key_points():
    state = state_of(entry(1, "old"), key_points=("a",))
    changes = diff(state, snap(entry(3), entry(2), entry(1, "new"), key_points=summary("b")))
    assert [type(c) for c in changes] == [EditedEntry, NewEntry, NewEntry, KeyPointsChanged]
    assert new_ids(changes) == ["e2", "e3"]


# --- the property ---------------------------------------------------------------------------

POOL = 12


@st.composite
def poll_sequences(draw: st.DrawFn) -> list[Snapshot | None]:
    """Polls of one source: a window sliding over a pool, reordered, edited, or failing."""
    polls: list[Snapshot | None] = []
    versions = [0] * POOL
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()) and draw(st.booleans()):
            polls.append(None)  # a failed poll: no snapshot reaches the diff
            continue
        start = draw(st.integers(0, POOL - 1))
        size = draw(st.integers(0, 6))
        window = list(range(start, min(POOL, start + size)))
        window = draw(st.permutations(window))
        for n in draw(st.lists(st.sampled_from(range(POOL)), max_size=2)):
            versions[n] += 1
        entries = tuple(
            entry(n, f"Text {n} version {versions[n]}.", dated=n % 3 != 0) for n in window
        )
        polls.append(snap(*entries))
    return polls


def apply_to_memory(memory: dict[str, StoredEntry], result: object) -> None:
    for write in (*result.inserts, *result.updates):  # type: ignore[attr-defined]
        e = write.entry
        memory[e.id] = StoredEntry(write.content_hash, write.fingerprint, e.title, e.text)


@settings(max_examples=150, deadline=None)
@given(poll_sequences())
def test_every_entry_is_new_at_most_once_and_every_unseen_one_exactly_once(polls):
    memory: dict[str, StoredEntry] = {}
    baseline_taken = False
    announced: list[str] = []
    seen_before: set[str] = set()
    must_announce: set[str] = set()
    for snapshot in polls:
        if snapshot is None:
            continue
        ids = {e.id for e in snapshot.entries}
        if baseline_taken:
            must_announce |= ids - seen_before
        state = SourceState(
            baseline_taken=baseline_taken,
            entries={i: memory[i] for i in ids if i in memory},
        )
        result = plan(state, snapshot)
        fresh = [c.entry for c in result.changes if isinstance(c, NewEntry)]
        if all(e.published is not None for e in fresh):
            assert [e.published for e in fresh] == sorted(e.published for e in fresh)
        announced += new_ids(result.changes)
        apply_to_memory(memory, result)
        baseline_taken = baseline_taken or result.found_something
        seen_before |= ids
    assert len(announced) == len(set(announced))
    assert set(announced) == must_announce
