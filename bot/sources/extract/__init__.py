"""Extraction: bytes of a live page, a page with a key-points box, or a feed → `Snapshot`.

Pure functions, no I/O. The pieces, by concern:
- `detect`: what a document is and how its bytes decode;
- `jsonld`: schema.org LiveBlogPosting; `guardian`: the Guardian's page data;
- `posts`: updates read from the markup of a live page whose JSON-LD lists none;
- `keypoints`: summary and key-events boxes in HTML; `selectors`: a source's own CSS selectors;
- `feeds`: RSS and Atom (lxml); `jsonfeed`: JSON Feed; `clean`: HTML → text; `dates`: dates;
- `nesting`: how deep elements may nest before lexbor parses them (its parse is quadratic in
  depth), with `shallow`, the one-pass proof that lets nearly every page through untouched;
- `entries`: the identity and ordering rules every extractor shares.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace

from bot.errors import ExtractError
from bot.model import Entry, KeyPoints, Snapshot, SourceKind
from bot.sources.extract.detect import (
    charset_of,
    decode_json,
    html_for_parser,
    sniff,
    text_encoding_of_nuls,
)
from bot.sources.extract.feeds import read_feed_document
from bot.sources.extract.guardian import is_guardian_page_data, read_page_data
from bot.sources.extract.htmlpage import read_html
from bot.sources.extract.jsonfeed import is_json_feed, read_json_feed
from bot.sources.extract.jsonld import find_liveblog, read_liveblog
from bot.sources.extract.selectors import Selectors

__all__ = ["Selectors", "extract"]

log = logging.getLogger(__name__)

# What a snapshot keeps at most, whatever a source serves: bounded memory and storage per poll.
# Discord shows far less (256-character titles, 4,096-character descriptions); the store keeps
# the rest for /latest and edit detection. Cuts are deterministic, so edits are still seen.
MAX_TITLE = 1000
MAX_TEXT = 100_000
MAX_KEY_POINTS = 100
MAX_KEY_POINT = 2000
MAX_URL = 4000  # ids, links and image addresses


def extract(
    body: bytes,
    *,
    content_type: str | None = None,
    url: str | None = None,
    kind: SourceKind | None = None,
    selectors: Selectors | None = None,
) -> Snapshot:
    """Read a live page, a page with a key-points box, or a feed.

    `kind` forces what the document is taken to be. Raises `ExtractError` (one line saying
    what was found) when the document is none of those. Entries are oldest first; key points
    are the source's own (None when it has no box: an extracted summary is made on demand,
    see `bot.sources.summary`).
    """
    if not body or not body.strip():
        raise ExtractError("the document is empty")
    head = body[:4096]
    if b"\x00" in head and text_encoding_of_nuls(head) is None:
        raise ExtractError("a binary file, not a web page or a feed")
    charset = charset_of(content_type)
    form = sniff(body, content_type)
    if form == "html" and b"<" not in body and kind is None:
        raise ExtractError(
            "plain text without markup: not a live page, a key-points page or a feed"
        )
    if form == "json":
        return _bounded(_coerce(_from_json(body, charset, url), kind))
    if form == "xml" or kind is SourceKind.FEED:
        snapshot = read_feed_document(body, content_type=content_type, fallback_url=url)
        return _bounded(_coerce(snapshot, kind))
    snapshot = read_html(html_for_parser(body, charset), url=url, kind=kind, selectors=selectors)
    return _bounded(snapshot)


def cut(text: str, limit: int) -> str:
    """TEXT cut to at most LIMIT characters, at a space when one is near, ending in "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit * 0.8:
        head = head[:space]
    return head.rstrip() + "…"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: str, limit: int) -> str:
    """VALUE cut to LIMIT, with lone surrogates (JSON may spell "\\ud800") made U+FFFD:
    they cannot be encoded, so hashing or storing them would fail."""
    if not value.isascii() and _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    return cut(value, limit)


def _optional(value: str | None, limit: int) -> str | None:
    return None if value is None else _text(value, limit)


def _fits(value: str | None, limit: int) -> bool:
    """Whether `_text` would give VALUE back as it is (short, and ASCII or free of surrogates)."""
    return value is None or (
        len(value) <= limit and (value.isascii() or not _SURROGATE.search(value))
    )


def _fit_entry(entry: Entry) -> Entry:
    if (
        _fits(entry.text, MAX_TEXT)
        and _fits(entry.title, MAX_TITLE)
        and _fits(entry.id, MAX_URL)
        and _fits(entry.url, MAX_URL)
        and _fits(entry.image, MAX_URL)
    ):
        return entry
    fitted = Entry(
        id=_text(entry.id, MAX_URL),
        title=_optional(entry.title, MAX_TITLE),
        text=_text(entry.text, MAX_TEXT),
        url=_optional(entry.url, MAX_URL),
        published=entry.published,
        updated=entry.updated,
        image=_optional(entry.image, MAX_URL),
    )
    return entry if fitted == entry else fitted


def _bounded(snapshot: Snapshot) -> Snapshot:
    """SNAPSHOT with over-long strings cut and unencodable characters replaced (see MAX_*)."""
    entries = tuple(_fit_entry(entry) for entry in snapshot.entries)
    if any(a is not b for a, b in zip(entries, snapshot.entries, strict=True)):
        log.info("%s: over-long or unencodable update fields cut", snapshot.url or "a document")
    key_points = snapshot.key_points
    if key_points is not None:
        items = tuple(_text(item, MAX_KEY_POINT) for item in key_points.items[:MAX_KEY_POINTS])
        if items != key_points.items:
            key_points = KeyPoints(key_points.kind, items)
    return replace(
        snapshot,
        title=_optional(snapshot.title, MAX_TITLE),
        url=_optional(snapshot.url, MAX_URL),
        entries=entries,
        key_points=key_points,
    )


def _from_json(body: bytes, charset: str | None, url: str | None) -> Snapshot:
    try:
        data = json.loads(decode_json(body, charset))
    except RecursionError as error:
        raise ExtractError("a JSON document nested too deeply to read") from error
    except ValueError as error:
        raise ExtractError(
            f"a document that looks like JSON but is not valid JSON ({error})"
        ) from error
    if is_json_feed(data):
        return read_json_feed(data, fallback_url=url)
    if is_guardian_page_data(data):
        return read_page_data(data, fallback_url=url)
    blog = find_liveblog(data)
    if blog is not None:
        live = read_liveblog(blog, fallback_url=url)
        return Snapshot(
            kind=SourceKind.LIVEBLOG,
            title=live.title,
            url=live.url,
            entries=live.entries,
            coverage_start=live.coverage_start,
            coverage_end=live.coverage_end,
        )
    raise ExtractError(
        "a JSON document that is neither a JSON Feed, a JSON-LD live blog nor Guardian page data"
    )


def _coerce(snapshot: Snapshot, kind: SourceKind | None) -> Snapshot:
    """Apply a forced kind to what was read, or say why it cannot be."""
    if kind is None or kind is snapshot.kind:
        return snapshot
    if kind is SourceKind.PAGE and snapshot.key_points is not None:
        return Snapshot(
            kind=SourceKind.PAGE,
            title=snapshot.title,
            url=snapshot.url,
            key_points=snapshot.key_points,
        )
    raise ExtractError(f"asked for a {kind.value} but the document is a {snapshot.kind.value}")
