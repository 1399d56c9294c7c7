"""The Guardian's page data: the `.json?dcr` form of a theguardian.com live page."""

from __future__ import annotations

from typing import TypeGuard

from selectolax.lexbor import LexborHTMLParser

from bot.model import Entry, KeyPoints, KeyPointsKind, Snapshot, SourceKind
from bot.sources.extract.clean import clean_line, html_to_text
from bot.sources.extract.dates import from_epoch_ms
from bot.sources.extract.entries import in_order
from bot.sources.extract.jsonld import find_liveblog, read_liveblog
from bot.sources.extract.keypoints import list_items
from bot.sources.extract.nesting import limit_nesting


def is_guardian_page_data(data: object) -> TypeGuard[dict[str, object]]:
    return (
        isinstance(data, dict)
        and isinstance(data.get("blocks"), list)
        and ("keyEvents" in data or "pageId" in data)
    )


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _block_text(block: dict[str, object]) -> str:
    elements = block.get("elements")
    if not isinstance(elements, list):
        return ""
    parts = []
    for element in elements:
        if isinstance(element, dict) and isinstance(element.get("html"), str):
            text = html_to_text(element["html"])
            if text:
                parts.append(text)
    return "\n\n".join(parts)


def _summary_items(block: dict[str, object]) -> tuple[str, ...]:
    items: list[str] = []
    for element in _list(block.get("elements")):
        if isinstance(element, dict) and isinstance(element.get("html"), str):
            if "<li" not in element["html"]:
                continue
            items.extend(list_items(LexborHTMLParser(limit_nesting(element["html"])).css("li")))
    return tuple(items)


def _is_summary(block: object) -> bool:
    return (
        isinstance(block, dict)
        and isinstance(block.get("attributes"), dict)
        and block["attributes"].get("summary") is True
    )


def key_points(data: dict[str, object]) -> KeyPoints | None:
    """The summary block's bullets, else the key events' titles."""
    blocks = [b for b in _list(data.get("blocks")) if isinstance(b, dict)]
    events = [e for e in _list(data.get("keyEvents")) if isinstance(e, dict)]
    for block in [*blocks, *events]:
        if _is_summary(block):
            items = _summary_items(block)
            if items:
                return KeyPoints(KeyPointsKind.SUMMARY, items)
    titles = tuple(
        t
        for e in events
        if not _is_summary(e)
        and (t := clean_line(e.get("title") if isinstance(e.get("title"), str) else None))
    )
    return KeyPoints(KeyPointsKind.KEY_EVENTS, titles) if titles else None


def read_page_data(data: dict[str, object], *, fallback_url: str | None = None) -> Snapshot:
    given_headline = data.get("headline")
    headline = clean_line(given_headline if isinstance(given_headline, str) else None)
    url = data.get("canonicalUrl") or data.get("webURL")
    url = url if isinstance(url, str) and url.startswith("http") else fallback_url
    entries: list[Entry] = []
    for block in _list(data.get("blocks")):
        if not isinstance(block, dict) or not isinstance(block.get("id"), str):
            continue
        block_id = block["id"]
        title = clean_line(block.get("title") if isinstance(block.get("title"), str) else None)
        published = from_epoch_ms(block.get("blockFirstPublished")) or from_epoch_ms(
            block.get("blockCreatedOn")
        )
        entries.append(
            Entry(
                id=block_id,
                title=None if title == headline else title,
                text=_block_text(block),
                # the Guardian's own permalink form for one block
                url=f"{url}?page=with:block-{block_id}#block-{block_id}" if url else None,
                published=published,
                updated=from_epoch_ms(block.get("blockLastUpdated")),
            )
        )
    coverage_start = coverage_end = None
    blog = find_liveblog(data.get("linkedData"))
    if blog is not None:
        linked = read_liveblog(blog, fallback_url=url)
        coverage_start, coverage_end = linked.coverage_start, linked.coverage_end
    return Snapshot(
        kind=SourceKind.LIVEBLOG,
        title=headline,
        url=url,
        entries=in_order(entries),
        key_points=key_points(data),
        coverage_start=coverage_start,
        coverage_end=coverage_end,
    )
