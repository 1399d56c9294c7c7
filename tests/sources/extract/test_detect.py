"""Documents that start with a byte-order mark (UTF-8, UTF-16 LE or BE) are read like any other,
whatever the HTTP content type says, with or without an encoding declaration of their own."""

from __future__ import annotations

import codecs
import json

import pytest

from bot.model import SourceKind
from bot.sources.extract import extract
from tests.livepage import live_page, update

BOMS = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
}
# What a server or a file system might say about such a document; None: nothing at all.
CONTENT_TYPES = [None, "application/octet-stream", "text/html", "application/rss+xml"]

RSS = (
    "{declaration}<rss version='2.0'><channel><title>Caf\u00e9 news</title>"
    "<item><guid>g1</guid><title>Premi\u00e8re</title><description>\u00c9t\u00e9 \u2014 "
    "<b>chaud</b></description></item></channel></rss>"
)
ATOM = (
    "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Caf\u00e9 news</title>"
    "<entry><id>tag:x,2024:1</id><title>Premi\u00e8re</title><summary>\u00c9t\u00e9</summary>"
    "</entry></feed>"
)
JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Caf\u00e9 news",
        "items": [{"id": "g1", "title": "Premi\u00e8re", "content_text": "\u00c9t\u00e9"}],
    },
    ensure_ascii=False,
)


def encoded(text: str, encoding: str) -> bytes:
    return BOMS[encoding] + text.encode(encoding)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("encoding", list(BOMS))
@pytest.mark.parametrize(
    "declaration", ["", "<?xml version='1.0' encoding='{name}'?>"], ids=["undeclared", "declared"]
)
def test_rss_with_a_byte_order_mark_is_read(encoding, declaration, content_type):
    name = "UTF-16" if encoding.startswith("utf-16") else "UTF-8"
    body = encoded(RSS.format(declaration=declaration.format(name=name)), encoding)
    snapshot = extract(body, content_type=content_type)
    assert (snapshot.kind, snapshot.title) == (SourceKind.FEED, "Caf\u00e9 news")
    assert [(e.title, e.text) for e in snapshot.entries] == [
        ("Premi\u00e8re", "\u00c9t\u00e9 \u2014 chaud")
    ]


@pytest.mark.parametrize("encoding", list(BOMS))
def test_atom_with_a_byte_order_mark_is_read(encoding):
    snapshot = extract(encoded(ATOM, encoding))
    assert (snapshot.kind, snapshot.title) == (SourceKind.FEED, "Caf\u00e9 news")
    assert [(e.id, e.text) for e in snapshot.entries] == [("tag:x,2024:1", "\u00c9t\u00e9")]


@pytest.mark.parametrize("encoding", list(BOMS))
def test_json_feed_with_a_byte_order_mark_is_read(encoding):
    snapshot = extract(encoded(JSON_FEED, encoding), content_type="application/octet-stream")
    assert (snapshot.kind, snapshot.title) == (SourceKind.FEED, "Caf\u00e9 news")
    assert [(e.id, e.title) for e in snapshot.entries] == [("g1", "Premi\u00e8re")]


@pytest.mark.parametrize("encoding", list(BOMS))
def test_live_page_with_a_byte_order_mark_is_read(encoding):
    page = live_page(update(1, text="Caf\u00e9 ouvert."), key_points=("Le quai \u00e9tait plein",))
    snapshot = extract(encoded(page.decode("utf-8"), encoding), content_type="text/html")
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert [e.text for e in snapshot.entries] == ["Caf\u00e9 ouvert."]
    assert snapshot.key_points is not None
    assert snapshot.key_points.items == ("Le quai \u00e9tait plein",)
