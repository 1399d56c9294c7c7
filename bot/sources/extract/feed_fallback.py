"""feedparser as the second reader, for a feed lxml could only read in part.

feedparser's loose parser reads documents well past the point where an XML parser's recovery
gives up (unclosed elements, stray markup), at several times the cost: it runs only when lxml
reported damage, on documents of at most `MAX_FALLBACK_BYTES`. It is handed the bytes already
decoded to UTF-8 and without their DOCTYPE, so that both readers see the same characters and no
entity is declared for either; and it is handed them as a stream (given bytes, feedparser tries
to open them as a file name first).
"""

from __future__ import annotations

import io
import logging
import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

from bot.sources.extract.clean import clean_line
from bot.sources.extract.feed_items import RawItem
from bot.sources.extract.feed_text import Content

log = logging.getLogger(__name__)

MAX_FALLBACK_BYTES = 1024 * 1024
_MAX_ITEMS = 5000


class FallbackFeed(NamedTuple):
    title: str | None
    url: str | None
    items: list[RawItem]


def _when(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        year, month, day, hour, minute, second = value[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _content(detail: Any, value: object) -> Content | None:
    """feedparser's value, plain text or markup by its detail's type."""
    if not isinstance(value, str) or not value.strip():
        return None
    kind = str((detail or {}).get("type") or "")
    return Content(value, plain=kind == "text/plain")


def _line(content: Content | None) -> str | None:
    if content is None:
        return None
    return " ".join(content.value.split()) or None if content.plain else clean_line(content.value)


def _string(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _image(entry: Any) -> str | None:
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type") or "").startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    return None


def _item(entry: Any) -> RawItem:
    contents = entry.get("content") or []
    if contents:
        body = _content(contents[0], contents[0].get("value"))
    else:
        body = _content(entry.get("summary_detail"), entry.get("summary"))
    title = _line(_content(entry.get("title_detail"), entry.get("title")))
    # dict.get: feedparser's own get() maps a missing updated_parsed to published_parsed (with
    # a DeprecationWarning)
    published = _when(dict.get(entry, "published_parsed"))
    published = published or _when(dict.get(entry, "created_parsed"))
    updated = _when(dict.get(entry, "updated_parsed"))
    return RawItem(
        guid=_string(entry.get("id")),
        link=_string(entry.get("link")),
        title=title,
        body=body,
        published=published or updated,
        updated=updated,
        image=_image(entry),
    )


def read_with_feedparser(utf8_body: bytes) -> FallbackFeed | None:
    """What feedparser reads from a feed's UTF-8 bytes; None when it finds no feed at all."""
    if len(utf8_body) > MAX_FALLBACK_BYTES:
        return None
    # imported here: feedparser is loaded only once a damaged feed needs it
    import feedparser

    try:
        result = feedparser.parse(
            io.BytesIO(utf8_body),
            response_headers={"content-type": "application/xml; charset=utf-8"},
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except Exception:  # a library failing on hostile bytes: lxml's reading stands
        log.debug("feedparser could not read a damaged feed", exc_info=True)
        return None
    feed = result.get("feed") or {}
    entries = result.get("entries") or []
    if not feed and not entries:
        return None
    title = _line(_content(feed.get("title_detail"), feed.get("title")))
    items = [_item(entry) for entry in entries[:_MAX_ITEMS]]
    return FallbackFeed(title, _string(feed.get("link")), items)
