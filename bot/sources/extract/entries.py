"""Entry identity and order, shared by every extractor (ARCHITECTURE rules 1 and 4)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.model import Entry, format_utc

log = logging.getLogger(__name__)

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def hashed_id(title: str | None, published: datetime | None, text: str) -> str:
    """`sha256:` + hex of (title, published); of the text only when both are missing."""
    if title or published:
        material = f"{title or ''}\x00{format_utc(published) or ''}"
    else:
        material = f"\x00\x00{text}"
    # surrogatepass: JSON can spell a lone surrogate, which plain UTF-8 cannot encode
    return "sha256:" + hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def url_fragment(url: str | None) -> str | None:
    if not url:
        return None
    return url.partition("#")[2] or None


def choose_id(
    *,
    explicit: str | None,
    url: str | None,
    title: str | None,
    published: datetime | None,
    text: str,
    use_fragment: bool,
    page_url: str | None = None,
) -> str:
    """The identity rule: explicit id (JSON-LD @id, guid, block id) → URL fragment (live pages)
    → link (unless it is just the page's own address) → hash."""
    if explicit and explicit.strip():
        return explicit.strip()
    if use_fragment:
        fragment = url_fragment(url)
        if fragment:
            return fragment
    if url and (page_url is None or url.partition("#")[0] != page_url.partition("#")[0]):
        return url
    return hashed_id(title, published, text)


def in_order(page_order: Iterable[Entry]) -> tuple[Entry, ...]:
    """Oldest first by `published`; ties and undated entries keep reverse page order.

    Pages list newest first, so the page order is reversed first; an undated entry then keeps
    its place right after the entry before it. Later duplicates of an id are dropped.
    """
    seen: set[str] = set()
    unique: list[Entry] = []
    for entry in page_order:
        if entry.id in seen:
            log.debug("dropping a second entry with id %s", entry.id)
            continue
        seen.add(entry.id)
        unique.append(entry)
    unique.reverse()
    keyed: list[tuple[datetime, int, Entry]] = []
    last = _EPOCH
    for position, entry in enumerate(unique):
        if entry.published is not None:
            last = entry.published
        keyed.append((last, position, entry))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return tuple(entry for _, _, entry in keyed)
