"""Which subscription gets which change (pure): modes, then keyword filters.

A subscription's mode decides the kinds of change it receives; its keywords (comma-separated
phrases, any case, whole words) decide which updates. Digests are built from the stored entries
when their period closes; they receive only edits, which become corrections of updates a digest
already showed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from bot.model import (
    Change,
    Changes,
    EditedEntry,
    Entry,
    KeyPointsChanged,
    Mode,
    NewEntry,
    StatusChanged,
)
from bot.store.records import Routed, Subscriber
from bot.text import collapse_whitespace

# Which kinds of change each mode receives.
MODE_CHANGES: dict[Mode, tuple[type, ...]] = {
    Mode.UPDATES: (NewEntry, EditedEntry, KeyPointsChanged, StatusChanged),
    Mode.KEY_POINTS: (KeyPointsChanged, StatusChanged),
    Mode.DIGEST: (EditedEntry,),
}


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
    """Does the entry's title or text contain one of the phrases?"""
    pattern = keyword_pattern(keywords)
    if pattern is None:
        return True
    return bool(pattern.search(entry.title or "") or pattern.search(entry.text))


def receives(subscriber: Subscriber, change: Change) -> bool:
    """Does this subscription get this change (its mode, then its keywords)?"""
    if not isinstance(change, MODE_CHANGES[subscriber.mode]):
        return False
    if isinstance(change, NewEntry | EditedEntry):
        return matches_keywords(subscriber.keywords, change.entry)
    return True


def route(
    changes: Changes,
    subscribers: Sequence[Subscriber],
    story_changes: Iterable[tuple[int, StatusChanged]] = (),
) -> tuple[Routed, ...]:
    """The outbox rows of one poll, in order: each change of the source for every subscriber
    that receives it, then each story's status change for that story's subscribers."""
    routed = [
        Routed(sub.subscription_id, change)
        for change in changes
        for sub in subscribers
        if receives(sub, change)
    ]
    for story_id, change in story_changes:
        routed.extend(
            Routed(sub.subscription_id, change)
            for sub in subscribers
            if sub.story_id == story_id and receives(sub, change)
        )
    return tuple(routed)
