"""Feed items as read (by lxml or by feedparser) → `Entry`s: bodies turned into text all at
once, garbled text repaired, links made absolute, the identity rule applied."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from urllib.parse import urljoin

from bot.model import Entry
from bot.sources.extract.clean import html_to_texts
from bot.sources.extract.entries import choose_id, in_order
from bot.sources.extract.feed_text import Content, plain_paragraphs, repaired, visible_fragment


class RawItem(NamedTuple):
    """An item as read, before its body is turned into text (all bodies at once).

    `title` is already a line of text; `body` is markup or plain text, as it says."""

    guid: str | None
    link: str | None
    title: str | None
    body: Content | None
    published: datetime | None
    updated: datetime | None
    image: str | None
    base: str | None = None  # what the item's relative links are relative to (xml:base)


_ABSOLUTE = ("http://", "https://")
_RELATIVE_PATH = ("/", "./", "../")


def is_web_address(value: str | None) -> bool:
    return value is not None and value.startswith(("http://", "https://"))


def absolute(link: str | None, base: str | None) -> str | None:
    """LINK as an absolute URL: a relative one ("/story/1") is resolved against BASE."""
    if link is None or base is None or link.startswith(("http://", "https://")):
        return link
    try:
        return urljoin(base, link)
    except ValueError:  # a malformed base or link: kept as it is (never made clickable)
        return link


def absolute_id(guid: str | None, base: str | None) -> str | None:
    """An id that is a relative reference by its form ("/post/1", "./1") resolved like a link;
    any other id ("4956764", "tag:...") is a name, kept as written."""
    if guid is None or base is None or not guid.startswith(("/", "./", "../")):
        return guid
    if guid.startswith("//"):
        return guid
    return absolute(guid, base)


def entries_of(raws: list[RawItem], *, base: str | None, garbled: bool = True) -> tuple[Entry, ...]:
    """The entries of RAWS. GARBLED False says the document holds no text `repaired` would
    change (a cheap test of its bytes, see `may_be_garbled`)."""
    texts = html_to_texts(
        [
            None if raw.body is None or raw.body.plain else visible_fragment(raw.body.value)
            for raw in raws
        ]
    )
    entries = []
    for raw, text in zip(raws, texts, strict=True):
        guid, link, title, body, published, updated, image, item_base = raw
        if body is not None and body.plain:
            text = plain_paragraphs(body.value)
        if garbled:
            if not text.isascii():
                text = repaired(text)
            if title is not None and not title.isascii():
                title = repaired(title)
        item_base = item_base or base
        if item_base is not None:  # (the checks inline: this loop runs for every item)
            if link is not None and not link.startswith(_ABSOLUTE):
                link = absolute(link, item_base)
            if guid is not None and guid.startswith(_RELATIVE_PATH):
                guid = absolute_id(guid, item_base)
            if image is not None and not image.startswith(_ABSOLUTE):
                image = absolute(image, item_base)
        entry_id = choose_id(
            explicit=guid,
            url=link,
            title=title,
            published=published,
            text=text,
            use_fragment=False,
        )
        entries.append(Entry(entry_id, title, text, link, published, updated, image))
    return in_order(entries)
