"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org)."""

from __future__ import annotations

from typing import TypeGuard

from bot.model import Entry, Snapshot, SourceKind
from bot.sources.extract.clean import clean_line, html_to_text
from bot.sources.extract.dates import parse_date
from bot.sources.extract.entries import choose_id, in_order
from bot.sources.extract.feed_text import repaired, repaired_line

_MAX_ITEMS = 5000


def is_json_feed(data: object) -> TypeGuard[dict[str, object]]:
    return (
        isinstance(data, dict)
        and isinstance(data.get("version"), str)
        and "jsonfeed.org" in data["version"]
    )


def _str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _item(item: dict[str, object]) -> Entry:
    title = repaired_line(clean_line(_str(item.get("title"))))
    html = _str(item.get("content_html"))
    text = html_to_text(html) if html else html_to_text(_plain(item.get("content_text")))
    if not text:
        text = html_to_text(_str(item.get("summary")))
    text = repaired(text)  # double-encoded UTF-8, cp1252 characters as C1 codes
    url = _str(item.get("url")) or _str(item.get("external_url"))
    published = parse_date(item.get("date_published"))
    updated = parse_date(item.get("date_modified"))
    raw_id = item.get("id")
    # 1.0 allowed numbers as ids; 1.1 requires strings but some feeds omit them
    explicit = (
        str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
    )
    entry_id = choose_id(
        explicit=explicit,
        url=url,
        title=title,
        published=published,
        text=text,
        use_fragment=False,
    )
    image = _str(item.get("image")) or _str(item.get("banner_image"))
    return Entry(entry_id, title, text, url, published or updated, updated, image)


def _plain(value: object) -> str | None:
    """content_text is plain text: escape it so that it is not read as markup."""
    text = _str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;") if text else None


def read_json_feed(data: dict[str, object], *, fallback_url: str | None = None) -> Snapshot:
    items = data.get("items")
    entries = [
        _item(i)
        for i in (items if isinstance(items, list) else [])[:_MAX_ITEMS]
        if isinstance(i, dict)
    ]
    return Snapshot(
        kind=SourceKind.FEED,
        title=repaired_line(clean_line(_str(data.get("title")))),
        url=_str(data.get("home_page_url")) or fallback_url,
        entries=in_order(entries),
    )
