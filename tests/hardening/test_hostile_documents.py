"""Hostile documents through extraction: size, depth, XML tricks, odd dates and encodings.

Each one gives a Snapshot or a one-line ExtractError, never another exception, with memory
bounded (tracemalloc peaks are asserted generously; lexbor's own C memory is not traced, its
work is bounded by the nesting limit instead).
"""

from __future__ import annotations

import json
import logging
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from selectolax.lexbor import LexborHTMLParser

from bot.errors import ExtractError
from bot.model import Snapshot
from bot.sources.extract import MAX_KEY_POINTS, MAX_TEXT, MAX_TITLE, Selectors, extract
from bot.sources.extract.dates import from_epoch_ms, parse_date
from bot.sources.extract.nesting import MAX_DEPTH, limit_nesting
from bot.text import content_hash

MB = 1024 * 1024


def peak_of(action: Callable[[], object]) -> tuple[object, int]:
    """Run ACTION under tracemalloc; its result (or the exception it raised) and the peak."""
    tracemalloc.start()
    try:
        try:
            result: object = action()
        except Exception as error:
            result = error
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def live_blog(updates: list[dict[str, object]], **extra: object) -> dict[str, object]:
    return {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "headline": "Harbour storm: live",
        "url": "https://news.example/storm",
        "liveBlogUpdate": updates,
        **extra,
    }


def update(number: int, **fields: object) -> dict[str, object]:
    minute = number % 60
    hour = number // 60 % 24
    day = 1 + number // 1440 % 28
    base = {
        "@id": f"u{number}",
        "headline": f"Update {number}",
        "articleBody": f"Crews report progress at pier {number}.",
        "datePublished": f"2025-03-{day:02d}T{hour:02d}:{minute:02d}:00Z",
    }
    return {**base, **fields}


def in_page(blog: dict[str, object], body_html: str = "") -> bytes:
    data = json.dumps(blog)
    return (
        f'<html><head><script type="application/ld+json">{data}</script></head>'
        f"<body>{body_html}</body></html>"
    ).encode()


def tree_depth(markup: str | bytes) -> int:
    tree = LexborHTMLParser(markup)
    deepest = 0
    stack = [(tree.root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        child = node.child
        while child is not None:
            stack.append((child, depth + 1))
            child = child.next
    return deepest


# --- size -------------------------------------------------------------------------------------


def test_thirty_thousand_updates_keep_the_newest_five_thousand_with_a_note(caplog):
    newest_first = [update(n) for n in reversed(range(30_000))]
    with caplog.at_level(logging.WARNING):
        snapshot, peak = peak_of(lambda: extract(json.dumps(live_blog(newest_first)).encode()))
    assert isinstance(snapshot, Snapshot)
    ids = [entry.id for entry in snapshot.entries]
    assert (len(ids), ids[0], ids[-1]) == (5000, "u25000", "u29999")
    assert "only the newest 5000" in caplog.text
    assert peak < 200 * MB


def test_thirty_thousand_updates_listed_oldest_first_keep_the_newest_too():
    oldest_first = [update(n) for n in range(30_000)]
    snapshot = extract(json.dumps(live_blog(oldest_first)).encode())
    assert (snapshot.entries[0].id, snapshot.entries[-1].id) == ("u25000", "u29999")


@pytest.mark.parametrize("opening", [b"[", b'{"a":'])
def test_json_nested_a_hundred_thousand_deep_is_a_clear_error(opening):
    closing = b"]" if opening == b"[" else b"}"
    body = opening * 100_000 + b"1" + closing * 100_000
    error, peak = peak_of(lambda: extract(body))
    assert isinstance(error, ExtractError)
    assert "nested too deeply" in str(error)
    assert peak < 50 * MB


def test_json_ld_nested_a_hundred_thousand_deep_in_a_page_is_skipped():
    body = in_page({"x": 1}).replace(b'{"x": 1}', b"[" * 100_000 + b"]" * 100_000)
    body = body.replace(b"<body>", b"<body><h1>Harbour storm</h1>")
    error, _ = peak_of(lambda: extract(body))
    assert isinstance(error, ExtractError)
    assert "Harbour storm" in str(error)


def test_ten_megabyte_update_is_read_cut_with_memory_bounded():
    body = json.dumps(live_blog([update(1, articleBody="<p>more rain</p>" * 700_000)])).encode()
    assert len(body) > 10 * 1000 * 1000
    snapshot, peak = peak_of(lambda: extract(body))
    assert isinstance(snapshot, Snapshot)
    text = snapshot.entries[0].text
    assert text.startswith("more rain\n\nmore rain") and len(text) <= MAX_TEXT
    assert peak < 150 * MB


def test_five_thousand_character_title_is_cut_at_extraction():
    snapshot = extract(json.dumps(live_blog([update(1, headline="storm " * 1000)])).encode())
    title = snapshot.entries[0].title
    assert title is not None and len(title) <= MAX_TITLE and title.endswith("…")


def test_a_huge_key_points_list_is_cut():
    items = "".join(f'<p class="point">point {n}</p>' for n in range(5000))
    body = in_page(live_blog([update(1)]), items)
    snapshot = extract(body, selectors=Selectors(key_points="p.point"))
    assert snapshot.key_points is not None
    assert len(snapshot.key_points.items) == MAX_KEY_POINTS


# --- depth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "markup",
    [
        "<div>" * 100_000,
        ("<div>" * 900 + "</div>" * 900) * 20,
        ("<div>" * 400 + "</span>" * 400) * 50,  # stray end tags must not hide depth
        "<div><table><tr><td></div>" * 20_000,  # end tags do not reach out of a cell
        "<ul><li>" * 50_000,
        "<table><tr><td>" * 20_000,
        "<blockquote><p>" * 50_000,
        "<script>" + "<div>" * 50 + "</script>" + "<section>" * 50_000,
        # in svg/math a <title> or <style> is an ordinary element, whatever the tag's case
        "<SVG><title>" + "<div>" * 20_000 + "</title></SVG>",
        "<Math><style>" + "<div>" * 20_000 + "</style></Math>",
    ],
    ids=[
        "divs",
        "towers",
        "stray-ends",
        "cells",
        "lists",
        "tables",
        "quotes",
        "script",
        "upper-case-svg",
        "mixed-case-math",
    ],
)
def test_nesting_is_limited_before_parsing(markup):
    limited = limit_nesting("<html><body>" + markup)
    # lexbor adds implied elements (tbody, ...): a little over the limit, never the input's depth
    assert tree_depth(limited) <= MAX_DEPTH * 3


def test_ordinary_markup_is_left_as_it_is():
    markup = "<div><p>One <b>two</b></p><ul><li>a<li>b</ul></div>" * 2000
    assert limit_nesting(markup) == markup


def test_page_nested_a_hundred_thousand_deep_still_yields_its_updates():
    body = in_page(live_blog([update(1), update(2)]), "<div>" * 100_000 + "text")
    snapshot = extract(body)
    assert [entry.id for entry in snapshot.entries] == ["u1", "u2"]


def test_update_body_nested_fifty_thousand_deep_keeps_its_text():
    nested = "<div>" * 50_000 + "the pier is open" + "</div>" * 50_000
    snapshot = extract(json.dumps(live_blog([update(1, articleBody=nested)])).encode())
    assert snapshot.entries[0].text == "the pier is open"


# --- XML --------------------------------------------------------------------------------------


def feed_with_doctype(doctype: str, title: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>{title}</title>'
        f"<item><guid>1</guid><title>{title}</title><description>{title}</description></item>"
        "</channel></rss>"
    ).encode()


def laughs(levels: int) -> str:
    entities = ['<!ENTITY l0 "ha">'] + [
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, levels + 1)
    ]
    return f"<!DOCTYPE rss [{''.join(entities)}]>"


def test_billion_laughs_expands_nothing():
    body = feed_with_doctype(laughs(9), "&l9;")
    snapshot, peak = peak_of(lambda: extract(body))
    assert isinstance(snapshot, Snapshot)
    assert "haha" not in (snapshot.title or "") + snapshot.entries[0].text
    assert peak < 20 * MB


def test_billion_laughs_after_a_long_comment_expands_nothing():
    # the DOCTYPE is past the first 4 KiB, where it is not stripped: lxml must still refuse
    body = feed_with_doctype(laughs(9), "&l9;").replace(
        b'<?xml version="1.0"?>', b'<?xml version="1.0"?><!--' + b"x" * 8000 + b"-->"
    )
    snapshot, peak = peak_of(lambda: extract(body, content_type="application/rss+xml"))
    assert isinstance(snapshot, Snapshot | ExtractError)
    text = str(snapshot)
    assert "hahaha" not in text
    assert peak < 20 * MB


@pytest.mark.parametrize("padding", [0, 8000], ids=["at-the-start", "after-4-KiB"])
@pytest.mark.parametrize("kind", ["general", "parameter"])
def test_external_entity_never_reads_a_local_file(tmp_path, padding, kind):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN-1234")
    if kind == "general":
        doctype = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    else:
        doctype = f'<!DOCTYPE rss [<!ENTITY % xxe SYSTEM "file://{secret}"> %xxe;]>'
    body = feed_with_doctype(doctype, "&xxe;")
    if padding:
        body = body.replace(b"?>", b"?><!--" + b"x" * padding + b"-->", 1)
    for content_type in (None, "application/rss+xml", "text/html"):
        try:
            result: object = extract(body, content_type=content_type)
        except ExtractError as error:
            result = error
        assert "TOP-SECRET" not in repr(result)


def test_external_dtd_is_never_fetched_or_read(tmp_path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY inject "INJECTED-FROM-DTD">')
    body = feed_with_doctype(f'<!DOCTYPE rss SYSTEM "file://{dtd}">', "&inject;")
    assert "INJECTED" not in repr(extract(body))


def test_entities_in_html_are_not_expanded():
    body = in_page(live_blog([update(1)])).replace(
        b"<html>", b"<!DOCTYPE html [" + laughs(9).encode()[14:-1] + b"]><html>", 1
    )
    snapshot = extract(body)
    assert [entry.id for entry in snapshot.entries] == ["u1"]


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59-05:00",  # past year 9999 once in UTC
        "0001-01-01T00:00:00+05:00",  # before year 1 once in UTC
        "Fri, 31 Dec 9999 23:59:59 -0500",
        "Mon, 01 Jan 0001 00:00:00 +0500",
    ],
)
def test_dates_past_the_edge_of_time_are_unreadable(text):
    assert parse_date(text) is None


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 1e300])
def test_epoch_numbers_that_are_no_time_are_unreadable(value):
    assert from_epoch_ms(value) is None


def test_far_future_and_pre_1970_dates_are_kept_and_ordered():
    updates = [
        update(1, datePublished="9999-12-31T23:59:59Z"),
        update(2, datePublished="1969-07-20T20:17:40Z"),
        update(3, datePublished="2025-03-01T10:00:00Z"),
    ]
    snapshot = extract(json.dumps(live_blog(updates)).encode())
    assert [entry.id for entry in snapshot.entries] == ["u2", "u3", "u1"]
    assert snapshot.entries[-1].published == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_guardian_block_with_a_nan_time_is_undated():
    body = b'{"blocks":[{"id":"b1","blockFirstPublished":NaN,"elements":[]}],"keyEvents":[]}'
    assert extract(body).entries[0].published is None


# --- encodings and duplicates -----------------------------------------------------------------


def test_mixed_utf8_and_latin1_bytes_both_read():
    body = in_page(live_blog([update(1, articleBody="CAFE_MARK")])).replace(
        b"CAFE_MARK", "caf\u00e9 \u20ac".encode() + b" na\xefve"
    )
    assert extract(body).entries[0].text == "café € naïve"


def test_invalid_utf8_in_json_reads_as_latin1():
    body = json.dumps(live_blog([update(1, articleBody="MARK")])).encode()
    body = body.replace(b"MARK", b"caf\xe9")
    assert extract(body).entries[0].text == "café"


def test_duplicate_ids_in_one_page_keep_the_first():
    updates = [update(1, articleBody="first"), update(1, articleBody="second"), update(2)]
    snapshot = extract(json.dumps(live_blog(updates)).encode())
    texts = {entry.id: entry.text for entry in snapshot.entries}
    assert len(snapshot.entries) == 2
    assert texts["u1"] == "first"


def test_lone_surrogates_from_json_are_replaced_so_hashing_and_storing_work():
    body = (
        b'{"@type":"LiveBlogPosting","headline":"h\\ud800","liveBlogUpdate":'
        b'[{"@id":"id\\udfff","headline":"t\\udc00","articleBody":"a\\ud800b"}]}'
    )
    snapshot = extract(body)
    entry = snapshot.entries[0]
    assert (snapshot.title, entry.id, entry.title, entry.text) == (
        "h\ufffd",
        "id\ufffd",
        "t\ufffd",
        "a\ufffdb",
    )
    assert content_hash(entry.title, entry.text)


def test_lone_surrogate_in_a_title_that_makes_the_id_is_hashed():
    body = b'{"@type":"LiveBlogPosting","liveBlogUpdate":[{"headline":"\\ud800"}]}'
    entry = extract(body).entries[0]
    assert entry.id.startswith("sha256:") and entry.title == "\ufffd"


@pytest.mark.parametrize("text", ["² May 2024", "1 May ２０２４", "Wed, 01 May 2024 1０:00 GMT"])
def test_unicode_digits_in_dates_are_unreadable_not_a_crash(text):
    result = parse_date(text)  # before the fix: ValueError from int("²")
    assert result is None or result.utcoffset() is not None


def test_nesting_is_limited_for_pages_handed_over_as_utf8_bytes():
    markup = ("<html><body>é" + "<div>" * 50_000).encode()
    limited = limit_nesting(markup)
    assert isinstance(limited, bytes)
    assert tree_depth(limited) <= MAX_DEPTH * 3
