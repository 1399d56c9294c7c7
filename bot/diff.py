"""What changed between what is stored about a source and a new snapshot of it (pure).

`diff(state, snapshot)` gives the changes of one poll; `plan(state, snapshot)` gives the same
changes plus what the store must write for them. Rules (ARCHITECTURE 1–6, issue 3):

- The first poll that finds something is a baseline: entries are stored, none is new or edited;
  its key points are reported once, all as added. A poll that finds nothing changes nothing.
- An entry seen before is never new again: not after leaving the window and coming back, not
  after a reorder, not after it was pruned (the store keeps a tombstone of its id).
- New entries come oldest first; an edit is a change of the normalised title or text.
- Key points (summary or key events) are versioned; a change lists what was added and removed,
  compared after normalisation. Null, empty or extracted key points change nothing.
- Within one poll: edited first, then new oldest first, then key points.
- Duplicate ids inside one snapshot: the first wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.model import (
    Change,
    Changes,
    EditedEntry,
    Entry,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    Snapshot,
)
from bot.text import content_hash, normalise_for_compare


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """What the store knows of one entry of the snapshot.

    `fingerprint` is a cheap hash of the raw title and text: while it matches, the entry is
    unchanged and the (costlier) normalised `content_hash` is not computed. `title` and `text`
    are the current stored words; the store may leave them out (None) for entries whose
    fingerprint matches, since they are only needed to describe an edit.
    """

    content_hash: str
    fingerprint: int = 0
    title: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class SourceState:
    """The stored state of one source, restricted to what one snapshot needs."""

    baseline_taken: bool = False
    # stored entries among the snapshot's ids
    entries: Mapping[str, StoredEntry] = field(default_factory=dict)
    # ids of the snapshot that were seen once and pruned since (tombstones)
    forgotten: frozenset[str] = frozenset()
    # the current versioned key points (None: no version yet)
    key_points: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class EntryWrite:
    """An entry to insert or update, with the hashes to store for it."""

    entry: Entry
    fingerprint: int
    content_hash: str
    posted: bool = False  # insert: it is announced as new; update: it is an edit


@dataclass(frozen=True, slots=True)
class PollPlan:
    """The changes of one poll and the writes that record them."""

    changes: Changes
    inserts: tuple[EntryWrite, ...] = ()  # entries not stored yet (new or silent)
    updates: tuple[EntryWrite, ...] = ()  # stored entries whose raw words changed
    key_points: KeyPointsChanged | None = None  # a new version to store
    takes_baseline: bool = False
    seen_ids: tuple[str, ...] = ()  # ids of stored entries present in the snapshot

    @property
    def found_something(self) -> bool:
        return self.takes_baseline or bool(self.seen_ids or self.inserts)


def fingerprint(title: str | None, text: str) -> int:
    """A cheap 63-bit hash of the raw title and text (not normalised)."""
    raw = f"{title or ''}\x00{text}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha1(raw, usedforsecurity=False).digest()[:8], "big") >> 1


def id_key(entry_id: str) -> int:
    """A compact 63-bit key of an entry id, as tombstones store it."""
    raw = entry_id.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big") >> 1


def unique_entries(entries: tuple[Entry, ...]) -> list[Entry]:
    """The entries with duplicate ids removed, the first of each id kept."""
    seen: set[str] = set()
    kept = []
    for entry in entries:
        if entry.id not in seen:
            seen.add(entry.id)
            kept.append(entry)
    return kept


def versioned_items(key_points: KeyPoints | None) -> tuple[str, ...] | None:
    """The items of key points that are versioned, or None when the snapshot has none."""
    if key_points is None or key_points.kind is KeyPointsKind.EXTRACTED:
        return None
    if not key_points.items:
        return None  # an empty box is taken as a page hiccup, not as "everything removed"
    return key_points.items


def key_points_change(
    current: tuple[str, ...] | None, key_points: KeyPoints | None
) -> KeyPointsChanged | None:
    """Items added and removed, compared after normalisation; None when nothing changed."""
    items = versioned_items(key_points)
    if items is None or key_points is None:
        return None
    old = {normalise_for_compare(item) for item in current or ()}
    new_keys = {normalise_for_compare(item) for item in items}
    added = _unique_by_key(item for item in items if normalise_for_compare(item) not in old)
    removed = _unique_by_key(
        item for item in current or () if normalise_for_compare(item) not in new_keys
    )
    if not added and not removed:
        return None
    return KeyPointsChanged(kind=key_points.kind, added=added, removed=removed, items=items)


def _unique_by_key(items: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    kept = []
    for item in items:
        key = normalise_for_compare(item)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return tuple(kept)


def _oldest_first(entries: list[Entry]) -> list[Entry]:
    """Sort by publication time when every entry has one; else keep the snapshot's order,
    which extraction already made oldest first."""
    if all(entry.published is not None for entry in entries):
        return sorted(entries, key=_published)
    return entries


def _published(entry: Entry) -> datetime:
    assert entry.published is not None
    return entry.published


def plan(state: SourceState, snapshot: Snapshot) -> PollPlan:
    """The changes of one poll and what to write for them."""
    entries = unique_entries(snapshot.entries)
    kp_change = key_points_change(state.key_points, snapshot.key_points)
    if not entries and kp_change is None:
        return PollPlan(changes=())  # found nothing: no state changes, baseline not taken

    baseline = not state.baseline_taken
    edited: list[Change] = []
    updates: list[EntryWrite] = []
    inserts: list[EntryWrite] = []
    new: list[Entry] = []
    seen_ids: list[str] = []
    for entry in entries:
        fp = fingerprint(entry.title, entry.text)
        stored = state.entries.get(entry.id)
        if stored is not None:
            seen_ids.append(entry.id)
            if stored.fingerprint == fp:
                continue
            digest = content_hash(entry.title, entry.text)
            is_edit = digest != stored.content_hash
            updates.append(EntryWrite(entry, fp, digest, posted=is_edit))
            if is_edit:
                edited.append(
                    EditedEntry(
                        entry=entry, previous_title=stored.title, previous_text=stored.text or ""
                    )
                )
            continue
        announce = not baseline and entry.id not in state.forgotten
        inserts.append(EntryWrite(entry, fp, content_hash(entry.title, entry.text), announce))
        if announce:
            new.append(entry)

    changes: list[Change] = [*edited, *(NewEntry(e) for e in _oldest_first(new))]
    if kp_change is not None:
        changes.append(kp_change)
    return PollPlan(
        changes=tuple(changes),
        inserts=tuple(inserts),
        updates=tuple(updates),
        key_points=kp_change,
        takes_baseline=baseline,
        seen_ids=tuple(seen_ids),
    )


def diff(state: SourceState, snapshot: Snapshot) -> Changes:
    """The changes of one poll: edited, then new oldest first, then key points."""
    return plan(state, snapshot).changes
