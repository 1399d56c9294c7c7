"""Subscription keyword filters: comma-separated phrases, case-insensitive, whole words."""

from __future__ import annotations

import functools
import re

from bot.model import Entry
from bot.text import collapse_whitespace


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
