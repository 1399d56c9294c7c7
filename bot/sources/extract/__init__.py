"""Extraction: bytes of a live page, a page with a key-points box, or a feed → `Snapshot`.

Pure functions, no I/O. The pieces, by concern:
- `detect`: what a document is and how its bytes decode;
- `jsonld`: schema.org LiveBlogPosting; `guardian`: the Guardian's page data;
- `keypoints`: summary and key-events boxes in HTML; `selectors`: a source's own CSS selectors;
- `feeds`: RSS and Atom (lxml); `jsonfeed`: JSON Feed; `clean`: HTML → text; `dates`: dates;
- `entries`: the identity and ordering rules every extractor shares.
"""

from __future__ import annotations

import json

from bot.errors import ExtractError
from bot.model import Snapshot, SourceKind
from bot.sources.extract.detect import charset_of, decode_json, html_for_parser, sniff
from bot.sources.extract.feeds import parse_xml, read_feed
from bot.sources.extract.guardian import is_guardian_page_data, read_page_data
from bot.sources.extract.htmlpage import read_html
from bot.sources.extract.jsonfeed import is_json_feed, read_json_feed
from bot.sources.extract.jsonld import find_liveblog, read_liveblog
from bot.sources.extract.selectors import Selectors

__all__ = ["Selectors", "extract"]


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
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractError("a binary file, not a web page or a feed")
    charset = charset_of(content_type)
    form = sniff(body, content_type)
    if form == "html" and b"<" not in body and kind is None:
        raise ExtractError(
            "plain text without markup: not a live page, a key-points page or a feed"
        )
    if form == "json":
        return _coerce(_from_json(body, charset, url), kind)
    if form == "xml" or kind is SourceKind.FEED:
        root = parse_xml(body, charset)
        if root is None:
            raise ExtractError("an XML document that could not be read at all")
        return _coerce(read_feed(root, fallback_url=url), kind)
    return read_html(html_for_parser(body, charset), url=url, kind=kind, selectors=selectors)


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
        return read_json_feed(data, fallback_url=url)  # type: ignore[arg-type]
    if is_guardian_page_data(data):
        return read_page_data(data, fallback_url=url)  # type: ignore[arg-type]
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
