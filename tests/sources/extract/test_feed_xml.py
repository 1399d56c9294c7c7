"""Broken feeds: read as far as they go (by feedparser where lxml gives up), and never anything
but a snapshot or Bulletin's one-line error, whatever the bytes."""

from __future__ import annotations

import codecs

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ExtractError
from bot.model import Snapshot, SourceKind, snapshot_to_json
from bot.sources.extract import extract
from bot.sources.extract.feed_fallback import MAX_FALLBACK_BYTES


def test_a_doctype_inside_a_comment_does_not_break_the_document():
    body = (
        b"<?xml version='1.0'?><!-- an old template said <!DOCTYPE rss [ <!ENTITY x 'y'> ]> -->"
        b"<rss version='2.0'><channel><title>Still here</title><item><guid>1</guid>"
        b"<title>First</title></item></channel></rss>"
    )
    snapshot = extract(body)
    assert snapshot.title == "Still here"
    assert [e.title for e in snapshot.entries] == ["First"]


def test_a_doctype_after_a_long_comment_is_still_dropped():
    body = (
        b"<?xml version='1.0'?><!--" + b"x" * 9000 + b"--><!DOCTYPE rss [<!ENTITY t 'one'>]>"
        b"<rss version='2.0'><channel><title>&t;</title></channel></rss>"
    )
    assert extract(body, content_type="application/rss+xml").title == "one"


UNCLOSED = (
    b"<rss version='2.0'><channel><title>Breaking</title>"
    b"<item><guid>1</guid><title>One</title><description>First <b>bold</description></item>"
    b"<item><guid>2</guid><title>Two</title><description>Second</description></item>"
    b"<item><guid>3</guid><title>Three</title><description>Third</description></item>"
    b"</channel></rss>"
)


def test_items_lxml_loses_to_a_broken_element_are_read_by_the_fallback():
    snapshot = extract(UNCLOSED)
    assert sorted(e.id for e in snapshot.entries) == ["1", "2", "3"]
    assert {e.id: e.title for e in snapshot.entries}["3"] == "Three"


def test_a_document_lxml_reads_whole_never_goes_to_the_fallback(monkeypatch):
    from bot.sources.extract import feeds

    def refuse(body: bytes) -> None:
        raise AssertionError("the fallback ran on a well-formed feed")

    monkeypatch.setattr(feeds, "read_with_feedparser", refuse)
    body = b"<rss version='2.0'><channel><item><guid>1</guid></item></channel></rss>"
    assert [e.id for e in extract(body).entries] == ["1"]


def test_a_damaged_feed_over_the_fallback_cap_is_read_by_lxml_alone():
    padding = b"<!-- " + b"p" * MAX_FALLBACK_BYTES + b" -->"
    snapshot = extract(UNCLOSED.replace(b"<channel>", b"<channel>" + padding))
    assert snapshot.kind is SourceKind.FEED
    assert "1" in {e.id for e in snapshot.entries}


def test_feedparser_never_opens_a_file_named_by_the_document(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(b"<rss><channel><title>SECRET FILE</title></channel></rss>")
    # a damaged document that is also a path: given bytes, feedparser would try to open it
    try:
        result: object = extract(str(secret).encode(), kind=SourceKind.FEED)
    except ExtractError as error:
        result = error
    assert "SECRET FILE" not in repr(result)


ONE_LINE = "\n"


def read_or_refuse(body: bytes, content_type: str | None = None) -> None:
    try:
        snapshot = extract(body, content_type=content_type, kind=SourceKind.FEED)
    except ExtractError as error:
        assert str(error) and ONE_LINE not in str(error)
        return
    assert isinstance(snapshot, Snapshot)
    snapshot_to_json(snapshot)  # every value prints


FEEDISH = st.sampled_from(
    [
        b"<?xml version='1.0' encoding='",
        b"utf-16",
        b"gb2312",
        b"cp037",
        b"'?>",
        b"<!DOCTYPE rss [<!ENTITY a 'b'>]>",
        b"<rss version='2.0'>",
        b"<channel>",
        b"<item>",
        b"</item>",
        b"<title>",
        b"</title>",
        b"<guid isPermaLink='true'>",
        b"/x</guid>",
        b"<pubDate>Tue, 05 Mar 2024 09:30:00 A</pubDate>",
        b"<description><![CDATA[<p>x<object>y",
        b"]]></description>",
        b"<feed xmlns='http://www.w3.org/2005/Atom' xml:base='http://[::1'>",
        b"<entry><content type='xhtml' mode='base64'>",
        b"<link href='%%'/>",
        b"&#X41;&#xFFFFFFFF;&#0;&bogus;&",
        b"\xc3\xa9\xc3",
        b"\x93\x80\x00",
        codecs.BOM_UTF16_LE,
        codecs.BOM_UTF32_BE,
        b"<!--",
        b"-->",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_snapshot_or_the_one_line_error(body):
    read_or_refuse(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(FEEDISH, max_size=30).map(b"".join),
    st.sampled_from([None, "application/rss+xml; charset=utf-16", "text/xml; charset=bogus"]),
)
def test_any_feed_shaped_bytes_give_a_snapshot_or_the_one_line_error(body, content_type):
    read_or_refuse(body, content_type)
