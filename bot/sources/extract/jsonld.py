"""schema.org `LiveBlogPosting` in JSON-LD: in a `<script>` block, in `@graph`, or bare."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from bot.model import Entry
from bot.sources.extract.clean import clean_line, html_to_texts
from bot.sources.extract.dates import parse_date
from bot.sources.extract.entries import choose_id, in_order

log = logging.getLogger(__name__)

_MAX_DEPTH = 8  # how deep a LiveBlogPosting may sit inside a JSON-LD document
_MAX_UPDATES = 5000  # a hostile page may list far more; the newest this many are read


@dataclass(frozen=True, slots=True)
class LiveBlog:
    title: str | None
    url: str | None
    entries: tuple[Entry, ...]
    coverage_start: datetime | None
    coverage_end: datetime | None


# What CMSs wrap JSON-LD in, as the browser would skip it: an HTML comment, or a CDATA section
# hidden from old parsers by JavaScript comments (`/*<![CDATA[*/ … /*]]>*/`, `//<![CDATA[`).
_OPENING = re.compile(r"<!--|(?:/\*\s*|//\s*)?<!\[CDATA\[(?:\s*\*/)?")
_CLOSING = re.compile(r"(?:-->|(?:/\*\s*|//\s*)?\]\]>(?:\s*\*/)?)$")
# A comma before a closing bracket, outside strings (group 1 keeps strings as they are).
_TRAILING_COMMA = re.compile(r'("(?:[^"\\]++|\\.)*+")|,(\s*+[}\]])')


def _unwrapped(text: str) -> str:
    """TEXT without a wrapping comment or CDATA section at either end."""
    opening = _OPENING.match(text)
    start = opening.end() if opening else 0
    end = len(text)
    # A closing wrapper's "-->" or "]]>" is the text's last ">": searching from just before
    # it (and its "/*" or "//") spares a match attempt at every position of a long block.
    core = text.rfind(">", start) - 2
    if core >= start:
        closing = _CLOSING.search(text, max(start, len(text[:core].rstrip()) - 2))
        if closing is not None:
            end = closing.start()
    return text[start:end]


def loads_lenient(text: str) -> object | None:
    """Parse a JSON-LD block; None when it is not JSON (or too deep to be sane).

    Lenient as browsers and search engines are: control characters inside strings, a wrapping
    comment or CDATA section, a trailing semicolon and trailing commas are all forgiven.
    """
    text = _unwrapped(text.strip()).strip().removesuffix(";")
    try:
        value: object = json.loads(text, strict=False)
        return value
    except RecursionError:
        return None
    except ValueError:
        pass
    try:  # the commonest hand-written slip, tried only once the strict reading has failed
        value = json.loads(_TRAILING_COMMA.sub(lambda m: m[1] or m[2], text), strict=False)
        return value
    except (ValueError, RecursionError):
        return None


def _types(obj: dict[str, object]) -> list[str]:
    value = obj.get("@type")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def find_liveblog(data: object) -> dict[str, object] | None:
    """The first LiveBlogPosting object that lists updates, else the first one at all,
    searched breadth-first to a bounded depth."""
    first: dict[str, object] | None = None
    level: list[object] = [data]
    for _ in range(_MAX_DEPTH):
        following: list[object] = []
        for node in level:
            if isinstance(node, dict):
                if any(t.rsplit("/", 1)[-1] == "LiveBlogPosting" for t in _types(node)):
                    if has_updates(node):
                        return node
                    first = first or node
                following.extend(v for v in node.values() if isinstance(v, dict | list))
            elif isinstance(node, list):
                following.extend(v for v in node if isinstance(v, dict | list))
        if not following:
            break
        level = following
    return first


def has_updates(blog: dict[str, object]) -> bool:
    return bool(blog.get("liveBlogUpdate"))


def _string(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return None


def _url_of(value: object) -> str | None:
    """A URL given as a string, as {"@id": ...}/{"url": ...}, or as a list of those."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _url_of(value.get("url")) or _url_of(value.get("@id"))
    return None


def _page_url(blog: dict[str, object]) -> str | None:
    for candidate in (blog.get("url"), blog.get("mainEntityOfPage"), blog.get("@id")):
        url = _url_of(candidate)
        if url and url.startswith(("http://", "https://")):
            return url
    return None


def _updates(blog: dict[str, object]) -> list[dict[str, object]]:
    value = blog.get("liveBlogUpdate")
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        return []
    updates = [u for u in value if isinstance(u, dict)]
    if len(updates) <= _MAX_UPDATES:
        return updates
    # Read the newest _MAX_UPDATES: pages list newest first, but some list oldest first,
    # which the first and last dated updates tell.
    first = next((d for u in updates if (d := parse_date(u.get("datePublished")))), None)
    last = next((d for u in reversed(updates) if (d := parse_date(u.get("datePublished")))), None)
    oldest_first = first is not None and last is not None and first < last
    log.warning(
        "a live blog listing %d updates: only the newest %d are read", len(updates), _MAX_UPDATES
    )
    return updates[-_MAX_UPDATES:] if oldest_first else updates[:_MAX_UPDATES]


def _one_page_date(dates: set[datetime | None], page_dates: set[datetime]) -> bool:
    return len(dates) == 1 and next(iter(dates)) in page_dates


def read_liveblog(blog: dict[str, object], *, fallback_url: str | None = None) -> LiveBlog:
    headline = clean_line(_string(blog.get("headline")) or _string(blog.get("name")))
    page_url = _page_url(blog) or fallback_url
    page_dates = {
        d
        for d in (parse_date(blog.get("datePublished")), parse_date(blog.get("dateModified")))
        if d
    }
    updates = _updates(blog)
    raw: list[tuple[dict[str, object], datetime | None, datetime | None]] = [
        (u, parse_date(u.get("datePublished")), parse_date(u.get("dateModified"))) for u in updates
    ]
    # The Guardian stamps every update with the page's own dates: then they say nothing. Only
    # one date shared by every update counts (a page published with its first update and
    # modified with its last has updates dated like the page, and those dates are real).
    drop_published = len(raw) > 1 and _one_page_date({p for _, p, _ in raw}, page_dates)
    drop_updated = len(raw) > 1 and _one_page_date({m for _, _, m in raw}, page_dates)
    texts = html_to_texts(
        [_string(u.get("articleBody")) or _string(u.get("text")) or "" for u, _, _ in raw]
    )
    entries: list[Entry] = []
    for (update, published, modified), text in zip(raw, texts, strict=True):
        title = clean_line(_string(update.get("headline")) or _string(update.get("name")))
        if title is not None and title == headline:
            title = None
        url = _url_of(update.get("url"))
        if drop_published:
            published = None
        if drop_updated:
            modified = None
        explicit = update.get("@id")
        entry_id = choose_id(
            explicit=explicit if isinstance(explicit, str) else None,
            url=url,
            title=title,
            published=published,
            text=text,
            use_fragment=True,
            page_url=page_url,
        )
        image = update.get("image")
        entries.append(
            Entry(
                entry_id,
                title,
                text,
                url or page_url,
                published,
                modified,
                None if image is None else _url_of(image),
            )
        )
    return LiveBlog(
        title=headline,
        url=page_url,
        entries=in_order(entries),
        coverage_start=parse_date(blog.get("coverageStartTime")),
        coverage_end=parse_date(blog.get("coverageEndTime")),
    )
