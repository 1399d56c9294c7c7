"""Identity, order, dates, text and detection rules on small documents written for the tests."""

from __future__ import annotations

import hashlib
import json

import pytest

from bot.errors import ExtractError
from bot.model import KeyPointsKind, SourceKind, format_utc
from bot.sources.extract import extract
from bot.sources.extract.dates import parse_date

PAGE = "https://live.example/story"


def blog(updates: object, **fields: object) -> dict:
    data = {"@context": "https://schema.org", "@type": "LiveBlogPosting", "headline": "Story"}
    data["url"] = PAGE
    data.update(fields)
    if updates is not None:
        data["liveBlogUpdate"] = updates
    return data


def in_html(*blocks: object) -> bytes:
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(b)}</script>' for b in blocks
    )
    return f"<html><head>{scripts}</head><body><p>x</p></body></html>".encode()


def update(**fields: object) -> dict:
    return {"@type": "BlogPosting", **fields}


# --- where the LiveBlogPosting sits ----------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(in_html(blog([update(headline="A")])), id="script block"),
        pytest.param(
            in_html({"@graph": [{"@type": "WebPage"}, blog([update(headline="A")])]}), id="@graph"
        ),
        pytest.param(
            in_html({"@type": "WebSite"}, blog([update(headline="A")])), id="second block"
        ),
        pytest.param(json.dumps(blog([update(headline="A")])).encode(), id="bare JSON"),
        pytest.param(json.dumps([blog([update(headline="A")])]).encode(), id="bare JSON array"),
        pytest.param(in_html(blog(update(headline="A"))), id="one update object"),
        pytest.param(
            in_html(blog([update(headline="A")], **{"@type": ["LiveBlogPosting", "NewsArticle"]})),
            id="@type list",
        ),
    ],
)
def test_live_blog_is_found(document):
    snapshot = extract(document)
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert [e.title for e in snapshot.entries] == ["A"]


def test_a_live_blog_that_lists_updates_wins_over_one_that_does_not():
    bare = blog(None, headline="Metadata only")
    full = blog([update(headline="A")])
    for document in (in_html(bare, full), in_html({"@graph": [bare, {"x": [full]}]})):
        snapshot = extract(document)
        assert (snapshot.title, [e.title for e in snapshot.entries]) == ("Story", ["A"])


def test_live_blog_without_updates_has_no_entries():
    snapshot = extract(in_html(blog(None)))
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert snapshot.entries == ()


def in_html_as_written(script: str) -> bytes:
    """A page whose one JSON-LD block holds SCRIPT exactly as a CMS wrote it."""
    return (
        f'<html><head><script type="application/ld+json">{script}</script></head>'
        "<body><p>x</p></body></html>"
    ).encode()


BLOG = json.dumps(blog([update(headline="A", articleBody="Line one.")]))


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(f"<!-- {BLOG} -->", id="html comment"),
        pytest.param(f"/*<![CDATA[*/ {BLOG} /*]]>*/", id="cdata in block comments"),
        pytest.param(f"//<![CDATA[\n{BLOG}\n//]]>", id="cdata in line comments"),
        pytest.param(f"<![CDATA[{BLOG}]]>", id="bare cdata"),
        pytest.param(f"{BLOG};", id="trailing semicolon"),
        pytest.param(BLOG.replace('"Line one."', '"Line one.",').replace("]}", "],}"), id="commas"),
        pytest.param(BLOG.replace("Line one.", "Line one.\tTab\u0001"), id="control characters"),
    ],
)
def test_json_ld_as_cms_write_it_is_read(script):
    snapshot = extract(in_html_as_written(script))
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert [e.title for e in snapshot.entries] == ["A"]


def test_a_comma_inside_a_string_is_kept_when_trailing_commas_are_forgiven():
    script = json.dumps(blog([update(headline="A, ]", articleBody="x")])).replace("]}", "],}")
    assert [e.title for e in extract(in_html_as_written(script)).entries] == ["A, ]"]


def test_broken_json_ld_block_is_skipped():
    page = (
        b'<html><head><script type="application/ld+json">{not json</script>'
        + in_html(blog([update(headline="A")]))[12:]
    )
    assert [e.title for e in extract(page).entries] == ["A"]


# --- identity ------------------------------------------------------------------------------


def test_id_prefers_json_ld_at_id_as_given():
    entry = extract(in_html(blog([update(**{"@id": " abc "}, url=PAGE + "#f")]))).entries[0]
    assert entry.id == "abc"


def test_id_at_id_that_is_a_url_is_kept_whole():
    at_id = "https://live.example/story#post-9"
    entry = extract(in_html(blog([update(**{"@id": at_id}, url=PAGE + "#f")]))).entries[0]
    assert entry.id == at_id


def test_id_falls_back_to_the_url_fragment():
    entry = extract(in_html(blog([update(url=PAGE + "#post-7")]))).entries[0]
    assert entry.id == "post-7"


def test_id_falls_back_to_a_link_other_than_the_page():
    entry = extract(in_html(blog([update(url="https://live.example/p/7")]))).entries[0]
    assert entry.id == "https://live.example/p/7"


def test_id_falls_back_to_a_hash_of_title_and_published():
    entry = extract(
        in_html(blog([update(url=PAGE, headline="T", datePublished="2024-05-01T10:00:00Z")]))
    ).entries[0]
    expected = hashlib.sha256(b"T\x002024-05-01T10:00:00Z").hexdigest()
    assert entry.id == "sha256:" + expected


def test_id_hashes_the_text_only_when_title_and_date_are_missing():
    one, two = (
        extract(in_html(blog([update(articleBody=body)]))).entries[0].id
        for body in ("First text.", "Second text.")
    )
    assert one.startswith("sha256:")
    assert one != two


def test_id_is_stable_when_the_text_is_edited():
    ids = {
        extract(in_html(blog([update(headline="T", articleBody=body)]))).entries[0].id
        for body in ("Draft.", "Corrected text.")
    }
    assert len(ids) == 1


def test_id_of_a_dated_update_without_title_is_stable_when_the_text_is_edited():
    ids = {
        extract(
            in_html(blog([update(datePublished="2024-05-01T10:00:00+02:00", articleBody=body)]))
        )
        .entries[0]
        .id
        for body in ("Draft.", "Corrected text.")
    }
    assert ids == {"sha256:" + hashlib.sha256(b"\x002024-05-01T08:00:00Z").hexdigest()}


def test_duplicate_ids_keep_the_first_on_the_page():
    entries = extract(
        in_html(
            blog(
                [update(**{"@id": "d"}, headline="Newer"), update(**{"@id": "d"}, headline="Older")]
            )
        )
    ).entries
    assert [e.title for e in entries] == ["Newer"]


# --- order ---------------------------------------------------------------------------------


def test_entries_are_oldest_first_whatever_the_page_order():
    updates = [
        update(**{"@id": "b"}, datePublished="2024-05-01T11:00:00Z"),
        update(**{"@id": "c"}, datePublished="2024-05-01T12:00:00Z"),
        update(**{"@id": "a"}, datePublished="2024-05-01T10:00:00Z"),
    ]
    assert [e.id for e in extract(in_html(blog(updates))).entries] == ["a", "b", "c"]


def test_ties_and_undated_entries_keep_reverse_page_order():
    updates = [
        update(**{"@id": "newest-undated"}),
        update(**{"@id": "tie-2"}, datePublished="2024-05-01T10:00:00Z"),
        update(**{"@id": "tie-1"}, datePublished="2024-05-01T10:00:00Z"),
        update(**{"@id": "oldest-undated"}),
    ]
    ids = [e.id for e in extract(in_html(blog(updates))).entries]
    assert ids == ["oldest-undated", "tie-1", "tie-2", "newest-undated"]


# --- titles and dates ----------------------------------------------------------------------


def test_update_title_equal_to_the_headline_is_null():
    entries = extract(in_html(blog([update(headline=" Story "), update(headline="Other")]))).entries
    assert [e.title for e in entries] == ["Other", None]


def test_page_date_on_every_update_is_null():
    stamp = "2024-05-01T10:00:00Z"
    updates = [update(**{"@id": str(i)}, datePublished=stamp, dateModified=stamp) for i in range(3)]
    entries = extract(in_html(blog(updates, datePublished=stamp))).entries
    assert all(e.published is None and e.updated is None for e in entries)


def test_updates_dated_like_the_pages_first_and_last_change_keep_their_dates():
    updates = [
        update(**{"@id": "2"}, datePublished="2024-05-01T10:30:00Z"),
        update(**{"@id": "1"}, datePublished="2024-05-01T10:00:00Z"),
    ]
    page = blog(updates, datePublished="2024-05-01T10:00:00Z", dateModified="2024-05-01T10:30:00Z")
    entries = extract(in_html(page)).entries
    assert [format_utc(e.published) for e in entries] == [
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:30:00Z",
    ]


def test_page_date_on_some_updates_is_kept():
    updates = [
        update(**{"@id": "1"}, datePublished="2024-05-01T10:00:00Z"),
        update(**{"@id": "2"}, datePublished="2024-05-01T09:00:00Z"),
    ]
    entries = extract(in_html(blog(updates, datePublished="2024-05-01T10:00:00Z"))).entries
    assert [format_utc(e.published) for e in entries] == [
        "2024-05-01T09:00:00Z",
        "2024-05-01T10:00:00Z",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00+0000", "2024-05-01T10:00:00Z"),
        ("2024-05-01 10:00:00 -0100", "2024-05-01T11:00:00Z"),
        ("2024-05-01", "2024-05-01T00:00:00Z"),
        ("Wed, 01 May 2024 10:00:00 GMT", "2024-05-01T10:00:00Z"),
        ("Wed, 01 May 2024 06:00:00 EDT", "2024-05-01T10:00:00Z"),
        ("01 May 2024 10:00 +0000", "2024-05-01T10:00:00Z"),
        ("Wed, May 01 2024 10:00:00 AM", "2024-05-01T10:00:00Z"),
        ("mer, 01 mag 2024 12:00:00 +0200", "2024-05-01T10:00:00Z"),
        ("1969-07-20T20:17:40Z", "1969-07-20T20:17:40Z"),
        ("not a date", None),
        ("2024-13-45T99:00:00Z", None),
        ("", None),
    ],
)
def test_dates(text, expected):
    assert format_utc(parse_date(text)) == expected


# --- text ----------------------------------------------------------------------------------


def test_body_escaped_inside_json_is_decoded():
    body = "He said &quot;no&quot; &amp;amp; left.\nThen &lt;b&gt;this&lt;/b&gt;."
    entry = extract(in_html(blog([update(articleBody=body)]))).entries[0]
    assert entry.text == 'He said "no" & left.\n\nThen this.'


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html><head><title>About us</title></head><body><p>Hi</p></body></html>", "About us"),
        (b"just some words", "plain text"),
        (b"", "empty"),
        (b"   \n ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        (b'{"hello": "world"}', "JSON"),
        (b"{broken", "not valid JSON"),
        (b"<?xml version='1.0'?><note><to>x</to></note>", "HTML page"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),
    ],
)
def test_not_news_is_a_one_line_error(document, message):
    with pytest.raises(ExtractError) as caught:
        extract(document)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_forced_kind_that_does_not_fit_is_an_error():
    with pytest.raises(ExtractError, match="asked for a liveblog"):
        extract(
            b"<rss version='2.0'><channel><title>F</title></channel></rss>",
            kind=SourceKind.LIVEBLOG,
        )


def test_forced_page_keeps_only_the_key_points():
    page = (
        in_html(blog([update(headline="A")]))[:-14]
        + b"<h2>Summary</h2><ul><li>S</li></ul></body></html>"
    )
    snapshot = extract(page, kind=SourceKind.PAGE)
    assert snapshot.kind is SourceKind.PAGE
    assert snapshot.entries == ()
    assert snapshot.key_points.items == ("S",)


def test_url_argument_is_the_fallback_url():
    data = {"@type": "LiveBlogPosting", "headline": "H", "liveBlogUpdate": []}
    assert extract(in_html(data), url="https://given.example/").url == "https://given.example/"


# --- the Guardian's page data (.json?dcr), written small --------------------------------------


def page_data(blocks: list[dict], key_events: list[dict] | None = None) -> bytes:
    data = {
        "headline": "Storm live",
        "webURL": "https://www.theguardian.com/world/live/storm",
        "blocks": blocks,
        "keyEvents": key_events or [],
    }
    return json.dumps(data).encode()


def block(block_id: str, minute: int, **fields: object) -> dict:
    epoch_ms = 1_714_557_600_000 + minute * 60_000  # 2024-05-01T10:00:00Z + minutes
    return {
        "id": block_id,
        "blockFirstPublished": epoch_ms,
        "elements": [{"html": f"<p>Body of {block_id}.</p>"}],
        **fields,
    }


def test_page_data_block_id_is_the_id_and_a_title_equal_to_the_headline_is_null():
    snapshot = extract(
        page_data([block("b2", 5, title="Storm live"), block("b1", 0, title="Roads shut")])
    )
    assert [(e.id, e.title) for e in snapshot.entries] == [("b1", "Roads shut"), ("b2", None)]
    assert format_utc(snapshot.entries[0].published) == "2024-05-01T10:00:00Z"
    assert snapshot.entries[1].url == (
        "https://www.theguardian.com/world/live/storm?page=with:block-b2#block-b2"
    )
    assert snapshot.key_points is None


def test_page_data_summary_bullets_win_over_key_event_titles():
    summary = block(
        "s",
        9,
        title="Summary",
        attributes={"summary": True},
        elements=[{"html": "<p>Where things stand.</p><ul><li>One</li><li>Two</li></ul>"}],
    )
    events = [{"id": "e", "title": "Roads shut"}]
    assert extract(page_data([summary, block("b1", 0)], events)).key_points.items == (
        "One",
        "Two",
    )
    no_bullets = {**summary, "elements": [{"html": "<p>No list here.</p>"}]}
    key_points = extract(page_data([no_bullets], events)).key_points
    assert key_points.kind is KeyPointsKind.KEY_EVENTS
    assert key_points.items == ("Roads shut",)
