"""Which subscription gets which change (pure): modes, then filters.

A subscription's mode decides the kinds of change it receives; its filters decide which updates:
its keywords (comma-separated phrases, any case, whole words: one must be in the update), its
exclusions (phrases too: none may be) and its pattern (one RE2 regular expression, any case: it
must match the title or the text). Patterns run on RE2, whose time is linear in the text, so no
member's pattern can stall polling or delivery; Python's `re` only ever sees phrases it escaped.

Digests are built from the stored entries when their period closes, through the same filters;
they receive only edits, which become corrections of updates a digest already showed.

`route` says, for one poll, which change goes to which subscription (the outbox rows) and, for
each update or edit a subscription does not get, why (recorded with the poll, for /why).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.model import (
    Change,
    Changes,
    EditedEntry,
    Entry,
    Filters,
    KeyPointsChanged,
    LeftOutReason,
    Mode,
    NewEntry,
    StatusChanged,
)
from bot.store.poll_record import Routed, Subscriber
from bot.store.trail import LeftOut
from bot.text import collapse_whitespace

# Which kinds of change each mode receives.
MODE_CHANGES: dict[Mode, tuple[type, ...]] = {
    Mode.UPDATES: (NewEntry, EditedEntry, KeyPointsChanged, StatusChanged),
    Mode.KEY_POINTS: (KeyPointsChanged, StatusChanged),
    Mode.DIGEST: (EditedEntry,),
}

MAX_PATTERN = 200  # characters of a pattern


@functools.lru_cache(maxsize=1024)
def keyword_pattern(keywords: str | None) -> re.Pattern[str] | None:
    """The pattern of a keyword list, or None when it holds no phrase (everything matches).

    Phrases are literal text, never regular expressions; spaces inside a phrase match any run
    of whitespace; a phrase matches only as whole words.
    """
    if not keywords:
        return None
    phrases = [collapse_whitespace(part) for part in keywords.split(",")]
    alternatives = [
        r"\s+".join(re.escape(word) for word in phrase.split(" ")) for phrase in phrases if phrase
    ]
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def matches_keywords(keywords: str | None, entry: Entry) -> bool:
    """Does the entry's title or text contain one of the phrases (True when there are none)?"""
    pattern = keyword_pattern(keywords)
    if pattern is None:
        return True
    return _has_phrase(pattern, entry)


def _has_phrase(pattern: re.Pattern[str], entry: Entry) -> bool:
    return bool(pattern.search(entry.title or "") or pattern.search(entry.text))


def _options() -> Any:
    import re2  # loaded with the first pattern: most processes have none

    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True  # only "does it match": RE2 may then use its DFA alone
    options.log_errors = False  # a refused pattern is the member's to hear about, not the log's
    return options


class PatternError(ValueError):
    """RE2 refuses the pattern; the message is RE2's reason."""


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    """PATTERN compiled by RE2 (any case); PatternError with RE2's reason when it refuses."""
    import re2

    try:
        return re2.compile(pattern, options=_options())
    except re2.error as error:
        reason = error.args[0] if error.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(str(reason)) from None


def pattern_refusal(pattern: str) -> str | None:
    """Why PATTERN cannot be a filter (RE2's reason, or its length), or None when it can."""
    if len(pattern) > MAX_PATTERN:
        return f"it is {len(pattern)} characters long; the most is {MAX_PATTERN}"
    try:
        compile_pattern(pattern)
    except PatternError as error:
        return str(error)
    return None


def _search(regexp: Any, text: str) -> bool:
    try:
        return regexp.search(text) is not None
    except UnicodeEncodeError:  # a lone surrogate: RE2 reads UTF-8 only
        return regexp.search(text.encode("utf-8", "replace")) is not None


def matches_pattern(pattern: str | None, entry: Entry) -> bool:
    """Does the pattern match the entry's title or text (True when there is none)? A stored
    pattern RE2 refuses (one it took when it was given) matches nothing."""
    if not pattern:
        return True
    try:
        regexp = compile_pattern(pattern)
    except PatternError:
        return False
    return _search(regexp, entry.title or "") or _search(regexp, entry.text)


def left_out_by(filters: Filters, entry: Entry) -> tuple[LeftOutReason, str] | None:
    """The filter that leaves the update out, with its value; None when the update passes them
    all. Keywords are tried first, then exclusions, then the pattern."""
    if filters.keywords and not matches_keywords(filters.keywords, entry):
        return LeftOutReason.KEYWORDS, filters.keywords
    exclusions = keyword_pattern(filters.exclusions)
    if filters.exclusions and exclusions is not None and _has_phrase(exclusions, entry):
        return LeftOutReason.EXCLUSIONS, filters.exclusions
    if filters.pattern and not matches_pattern(filters.pattern, entry):
        return LeftOutReason.PATTERN, filters.pattern
    return None


def passes(filters: Filters, entry: Entry) -> bool:
    """Does the update pass the subscription's filters (digests and backfills ask too)?"""
    return left_out_by(filters, entry) is None


def pings_for_updates(filters: Filters) -> bool:
    """Do the updates a subscription gets ping its role? Only when its filters pick them
    (keywords or a pattern): an update it gets then passed them all, exclusions included."""
    return bool(filters.keywords or filters.pattern)


def receives(subscriber: Subscriber, change: Change) -> bool:
    """Does this subscription get this change (its mode, then its filters)?"""
    if not isinstance(change, MODE_CHANGES[subscriber.mode]):
        return False
    if isinstance(change, NewEntry | EditedEntry):
        return passes(subscriber.filters, change.entry)
    return True


def why_not(
    subscriber: Subscriber, change: NewEntry | EditedEntry
) -> tuple[LeftOutReason, str | None] | None:
    """Why a subscription does not get an update or an edit, with the value that decided it;
    None when it does, and for a new update a digest will take when its period closes (the
    digest applies the same filters then: those that leave it out are said now)."""
    if subscriber.mode == Mode.DIGEST and isinstance(change, NewEntry):
        return left_out_by(subscriber.filters, change.entry)
    if not isinstance(change, MODE_CHANGES[subscriber.mode]):
        return LeftOutReason.MODE, str(subscriber.mode)
    return left_out_by(subscriber.filters, change.entry)


@dataclass(frozen=True, slots=True)
class Routing:
    """One poll's routing: the outbox rows, in order, and each update or edit left out for a
    subscription, with why."""

    deliveries: tuple[Routed, ...] = ()
    left_out: tuple[LeftOut, ...] = ()


def route(
    changes: Changes,
    subscribers: Sequence[Subscriber],
    story_changes: Iterable[tuple[int, StatusChanged]] = (),
) -> Routing:
    """Each change of the source for every subscriber that receives it, then each story's
    status change for that story's subscribers; and why each subscriber that does not get an
    update or an edit is left without it."""
    routed: list[Routed] = []
    left_out: list[LeftOut] = []
    for change in changes:
        for sub in subscribers:
            if receives(sub, change):
                routed.append(Routed(sub.subscription_id, change))
            elif isinstance(change, NewEntry | EditedEntry):
                why = why_not(sub, change)
                if why is not None:
                    left_out.append(LeftOut(sub.subscription_id, change, why[0], why[1]))
    for story_id, status in story_changes:
        routed.extend(
            Routed(sub.subscription_id, status)
            for sub in subscribers
            if sub.story_id == story_id and receives(sub, status)
        )
    return Routing(tuple(routed), tuple(left_out))
