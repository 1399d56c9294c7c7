"""Live pages whose JSON-LD declares a LiveBlogPosting but lists no updates: the updates are read
from the page's markup, by its shape (pages written for the tests)."""

from __future__ import annotations

import json

import pytest

from bot.errors import ExtractError
from bot.model import SourceKind, format_utc
from bot.sources.extract import extract

PAGE = "https://live.example/harbour"
DECLARED = json.dumps(
    {"@context": "https://schema.org", "@type": "LiveBlogPosting", "headline": "Harbour live"}
)


def post(n: int, *, time: str = "", title: str | None = None, tag: str = "article") -> str:
    heading = f"<h2>{title}</h2>" if title is not None else f"<h2>Update {n}</h2>"
    stamp = time or f'<time datetime="2024-06-01T1{n}:00:00Z">1{n}:00</time>'
    return (
        f'<{tag} class="post" id="post-{n}"><div class="meta">{stamp}<span>By A. Writer</span>'
        f"</div>{heading}<p>Boats number {n} arrived.</p><ul><li>Quay {n}</li></ul></{tag}>"
    )


def page(*posts: str, declared: bool = True) -> bytes:
    script = f'<script type="application/ld+json">{DECLARED}</script>' if declared else ""
    return (
        f'<html><head><title>Harbour live</title><link rel="canonical" href="{PAGE}">{script}'
        f'</head><body><h1>Harbour live</h1><div class="stream">{"".join(posts)}</div>'
        '<aside><div id="promo"><time datetime="2024-01-01T00:00:00Z">Jan</time></div></aside>'
        "</body></html>"
    ).encode()


def test_posts_in_the_markup_are_the_updates_oldest_first():
    snapshot = extract(page(post(3), post(2), post(1)))  # newest first, as pages list them
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert [(e.id, e.title, format_utc(e.published)) for e in snapshot.entries] == [
        ("post-1", "Update 1", "2024-06-01T11:00:00Z"),
        ("post-2", "Update 2", "2024-06-01T12:00:00Z"),
        ("post-3", "Update 3", "2024-06-01T13:00:00Z"),
    ]


def test_a_post_keeps_its_paragraphs_and_lists_but_not_its_title_time_or_byline():
    first = extract(page(post(2), post(1))).entries[0]
    assert first.text == "Boats number 1 arrived.\n\nQuay 1"
    assert first.url == f"{PAGE}#post-1"


@pytest.mark.parametrize(
    "stamp",
    ['data-post-time="1717239600000"', 'data-timestamp="1717239600"'],
    ids=["epoch-ms", "epoch-s"],
)
def test_a_time_on_the_post_itself_is_read(stamp):
    posts = [
        f'<div class="entry" id="e{n}" {stamp}><h3>Entry {n}</h3><p>Text {n}.</p></div>'
        for n in (2, 1)
    ]
    entries = extract(page(*posts)).entries
    assert [e.id for e in entries] == ["e1", "e2"]  # a tie on time keeps reverse page order
    assert {format_utc(e.published) for e in entries} == {"2024-06-01T11:00:00Z"}


def test_a_post_titled_like_the_page_has_no_title():
    entries = extract(page(post(2, title="Harbour live"), post(1))).entries
    assert [e.title for e in entries] == ["Update 1", None]


def test_the_largest_run_of_alike_siblings_wins():
    stream = [post(n) for n in (4, 3, 2, 1)]
    elsewhere = '<li class="teaser" id="t1"><time datetime="2024-01-01T00:00:00Z">x</time></li>'
    entries = extract(page(*stream, f"<ul>{elsewhere * 2}</ul>")).entries
    assert [e.id for e in entries] == ["post-1", "post-2", "post-3", "post-4"]


def test_one_lone_post_is_not_taken_for_a_stream():
    snapshot = extract(page(post(1)))
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert snapshot.entries == ()


def test_a_page_that_does_not_declare_itself_live_is_not_read_as_one():
    with pytest.raises(ExtractError, match="no live blog"):
        extract(page(post(2), post(1), declared=False))


def test_json_ld_updates_win_over_the_markup():
    blog = json.loads(DECLARED) | {
        "liveBlogUpdate": [
            {"@type": "BlogPosting", "@id": "ld-1", "headline": "From JSON-LD", "articleBody": "x"}
        ]
    }
    body = page(post(2), post(1)).replace(DECLARED.encode(), json.dumps(blog).encode())
    assert [e.id for e in extract(body).entries] == ["ld-1"]


def test_a_post_known_by_a_data_attribute_links_to_the_page_itself():
    posts = [
        f'<div class="p" data-post-id="{n}"><time datetime="2024-06-01T1{n}:00:00Z"></time>'
        f"<p>Text {n}.</p></div>"
        for n in (2, 1)
    ]
    entries = extract(page(*posts)).entries
    assert [(e.id, e.url) for e in entries] == [("1", PAGE), ("2", PAGE)]  # no #1 to link to


def test_an_amp_live_list_is_read():
    items = "".join(
        f'<div id="item-{n}" data-sort-time="171723{n}600000"><h3>Item {n}</h3><p>Text {n}.</p>'
        "</div>"
        for n in (9, 8)
    )
    body = page(f'<amp-live-list id="live" data-poll-interval="15000"><div items>{items}</div>'
                "</amp-live-list>")  # fmt: skip
    entries = extract(body).entries
    assert [(e.id, e.title, e.text) for e in entries] == [
        ("item-8", "Item 8", "Text 8."),
        ("item-9", "Item 9", "Text 9."),
    ]
    assert entries[0].published < entries[1].published


def in_stream(*posts: str, stream_class: str) -> bytes:
    """A page without JSON-LD whose posts sit in a container of class STREAM_CLASS."""
    return page(*posts, declared=False).replace(
        b'<div class="stream">', f'<div class="{stream_class}">'.encode()
    )


def test_a_page_whose_markup_says_live_is_read_without_json_ld():
    snapshot = extract(in_stream(post(3), post(2), post(1), stream_class="live-stream"))
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert [e.id for e in snapshot.entries] == ["post-1", "post-2", "post-3"]


@pytest.mark.parametrize(
    ("stream_class", "posts"),
    [("stream", 3), ("delivery-times", 3), ("live-stream", 2)],
    ids=["no live mark", "live only inside a word", "too few posts"],
)
def test_a_page_that_does_not_declare_itself_live_needs_a_clear_stream(stream_class, posts):
    body = in_stream(*(post(n) for n in range(posts, 0, -1)), stream_class=stream_class)
    with pytest.raises(ExtractError, match="no live blog"):
        extract(body)
