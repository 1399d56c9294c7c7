"""Feed formats and hostile XML, on small feeds written for the tests."""

from __future__ import annotations

import hashlib
import json

import pytest

from bot.errors import ExtractError
from bot.model import SourceKind, format_utc
from bot.sources.extract import extract

RSS_091 = b"""<?xml version="1.0"?>
<rss version="0.91"><channel><title>Old style</title><link>https://old.example/</link>
<item><title>First</title><link>https://old.example/1</link><description>One.</description></item>
</channel></rss>"""

RSS_10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://rdf.example/"><title>RDF feed</title><link>https://rdf.example/</link></channel>
<item rdf:about="https://rdf.example/a"><title>A</title><link>https://rdf.example/a</link>
<dc:date>2024-05-01T10:00:00Z</dc:date></item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">Tom &amp;amp; Jerry</title>
<link rel="self" href="https://atom.example/feed"/><link href="https://atom.example/"/>
<entry><id>tag:atom.example,2024:1</id><title>Entry</title>
<link rel="alternate" href="https://atom.example/1"/><updated>2024-05-01T10:00:00Z</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
<p>Para one.</p><p>Para two.</p></div></content>
</entry></feed>"""


def test_rss_091():
    snapshot = extract(RSS_091)
    assert snapshot.kind is SourceKind.FEED
    assert snapshot.url == "https://old.example/"
    assert [(e.id, e.title, e.text) for e in snapshot.entries] == [
        ("https://old.example/1", "First", "One.")
    ]


def test_rss_10_rdf():
    snapshot = extract(RSS_10)
    assert snapshot.title == "RDF feed"
    (entry,) = snapshot.entries
    assert entry.id == "https://rdf.example/a"
    assert format_utc(entry.published) == "2024-05-01T10:00:00Z"


def test_atom_with_xhtml_content_and_html_title():
    snapshot = extract(ATOM)
    assert snapshot.title == "Tom & Jerry"
    assert snapshot.url == "https://atom.example/"
    (entry,) = snapshot.entries
    assert entry.id == "tag:atom.example,2024:1"
    assert entry.url == "https://atom.example/1"
    assert entry.text == "Para one.\n\nPara two."
    assert format_utc(entry.published) == "2024-05-01T10:00:00Z"  # updated stands in


def test_latin1_feed_without_declaration():
    body = (
        "<rss version='2.0'><channel><title>Caf\u00e9 news</title><item>"
        "<title>Cr\u00e8me br\u00fbl\u00e9e</title><guid>g1</guid></item></channel></rss>"
    ).encode("latin-1")
    snapshot = extract(body)
    assert snapshot.title == "Caf\u00e9 news"
    assert snapshot.entries[0].title == "Cr\u00e8me br\u00fbl\u00e9e"


def test_http_charset_decodes_a_feed_without_declaration():
    body = "<rss><channel><title>\u0416\u0443\u0440\u043d\u0430\u043b</title></channel></rss>"
    snapshot = extract(body.encode("koi8-r"), content_type="application/rss+xml; charset=KOI8-R")
    assert snapshot.title == "\u0416\u0443\u0440\u043d\u0430\u043b"


def test_declared_encoding_is_honoured():
    body = (
        "<?xml version='1.0' encoding='iso-8859-1'?><rss><channel><title>Gr\u00fc\u00dfe</title>"
        "</channel></rss>"
    ).encode("latin-1")
    assert extract(body).title == "Gr\u00fc\u00dfe"


def test_external_entities_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<rss><channel><title>t</title><item><title>&xxe;</title><guid>1</guid></item>"
        "</channel></rss>"
    ).encode()
    snapshot = extract(body)
    assert "TOP-SECRET" not in json.dumps([e.title for e in snapshot.entries])


def test_entity_expansion_does_not_blow_up():
    # each entity is ten of the one before: &l9; would be 10^9 times "lol"
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]>'
        "<rss><channel><title>&l9;</title><item><guid>1</guid></item></channel></rss>"
    ).encode()
    snapshot = extract(body)
    assert "lol" not in (snapshot.title or "")
    assert [e.id for e in snapshot.entries] == ["1"]


def test_feed_with_no_items_is_an_empty_feed():
    snapshot = extract(b"<rss version='2.0'><channel><title>Quiet</title></channel></rss>")
    assert snapshot.kind is SourceKind.FEED
    assert snapshot.entries == ()


def test_xml_that_is_not_a_feed_is_an_error():
    with pytest.raises(ExtractError, match="not a feed"):
        extract(b"<?xml version='1.0'?><svg><g/></svg>", content_type="application/xml")


def test_item_without_guid_or_link_gets_a_hash_id():
    body = (
        b"<rss><channel><item><title>T</title><pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate>"
        b"</item></channel></rss>"
    )
    (entry,) = extract(body).entries
    assert entry.id.startswith("sha256:")
    assert len(entry.id) == len("sha256:") + 64


def test_enclosure_image_is_kept():
    body = (
        b"<rss><channel><item><guid>1</guid><enclosure url='https://img.example/a.jpg' "
        b"type='image/jpeg' length='1'/></item></channel></rss>"
    )
    assert extract(body).entries[0].image == "https://img.example/a.jpg"


def test_json_feed_10_numeric_ids_and_html_content():
    feed = {
        "version": "https://jsonfeed.org/version/1",
        "title": "J",
        "home_page_url": "https://j.example/",
        "items": [
            {"id": 2, "content_html": "<p>B</p>", "date_published": "2024-05-02T00:00:00Z"},
            {"id": "1", "content_text": "A & b", "date_published": "2024-05-01T00:00:00Z"},
        ],
    }
    snapshot = extract(json.dumps(feed).encode())
    assert [(e.id, e.text) for e in snapshot.entries] == [("1", "A & b"), ("2", "B")]
    assert snapshot.url == "https://j.example/"


def test_json_feed_without_items_is_an_empty_feed():
    snapshot = extract(b'{"version": "https://jsonfeed.org/version/1.1", "title": "E"}')
    assert snapshot.kind is SourceKind.FEED
    assert snapshot.entries == ()


RELATIVE_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Section</title>
<link>https://news.example/section/</link>
<item><title>One</title><link>/story/1</link><description>x</description>
<enclosure url="img/1.jpg" type="image/jpeg"/></item>
<item><title>Two</title><link>https://other.example/2</link></item>
</channel></rss>"""


def test_relative_item_links_are_resolved_against_the_feeds_address():
    snapshot = extract(RELATIVE_RSS, url="https://feeds.example/news/rss.xml")
    assert [(e.id, e.url, e.image) for e in snapshot.entries] == [
        ("https://other.example/2", "https://other.example/2", None),
        ("https://feeds.example/story/1", "https://feeds.example/story/1",
         "https://feeds.example/news/img/1.jpg"),
    ]  # fmt: skip


def test_relative_item_links_of_a_local_file_are_resolved_against_the_channel_link():
    snapshot = extract(RELATIVE_RSS)
    assert snapshot.entries[-1].url == "https://news.example/story/1"


def test_relative_atom_links_are_resolved_too():
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b'<entry><id>tag:a,2024:1</id><title>E</title><link href="e/1"/></entry></feed>'
    )
    (entry,) = extract(body, url="https://atom.example/feeds/all.atom").entries
    assert entry.url == "https://atom.example/feeds/e/1"


# --- the identity ladder in feeds: guid/id, else link, else a hash -------------------------

STAMP = "Wed, 01 May 2024 10:00:00 GMT"


def digest(material: bytes) -> str:
    return "sha256:" + hashlib.sha256(material).hexdigest()


def rss_item(item: str) -> bytes:
    return (
        f"<rss version='2.0'><channel><title>F</title><item>{item}</item></channel></rss>".encode()
    )


def json_item(item: dict) -> bytes:
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [item]}
    return json.dumps(feed).encode()


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(
            rss_item("<guid>g-1</guid><link>https://f.example/1#c</link><title>T</title>"),
            "g-1",
            id="rss guid before link",
        ),
        pytest.param(
            rss_item("<link>https://f.example/1#comments</link><title>T</title>"),
            "https://f.example/1#comments",
            id="rss link, whole",
        ),
        pytest.param(
            rss_item(f"<title>T</title><pubDate>{STAMP}</pubDate><description>x</description>"),
            digest(b"T\x002024-05-01T10:00:00Z"),
            id="rss title and date",
        ),
        pytest.param(
            rss_item("<title>T</title><description>x</description>"),
            digest(b"T\x00"),
            id="rss title only",
        ),
        pytest.param(
            rss_item(f"<pubDate>{STAMP}</pubDate><description>x</description>"),
            digest(b"\x002024-05-01T10:00:00Z"),
            id="rss date only",
        ),
        pytest.param(
            rss_item("<description>Only words.</description>"),
            digest(b"\x00\x00Only words."),
            id="rss text when title and date are missing",
        ),
        pytest.param(
            b"<feed xmlns='http://www.w3.org/2005/Atom'><title>A</title><entry>"
            b"<id>urn:a:1</id><link href='https://a.example/1'/><title>T</title></entry></feed>",
            "urn:a:1",
            id="atom id before link",
        ),
        pytest.param(
            json_item({"id": "j-1", "url": "https://j.example/1", "content_text": "x"}),
            "j-1",
            id="json feed id",
        ),
        pytest.param(
            json_item({"url": "https://j.example/1", "content_text": "x"}),
            "https://j.example/1",
            id="json feed without id: its url",
        ),
        pytest.param(
            json_item(
                {"title": "T", "date_published": "2024-05-01T10:00:00Z", "content_text": "x"}
            ),
            digest(b"T\x002024-05-01T10:00:00Z"),
            id="json feed without id or url: title and date",
        ),
        pytest.param(
            json_item({"content_text": "Only words."}),
            digest(b"\x00\x00Only words."),
            id="json feed with text alone",
        ),
    ],
)
def test_feed_item_id_ladder(document, expected):
    (entry,) = extract(document).entries
    assert entry.id == expected


def test_feed_hash_id_ignores_the_text_when_a_title_is_there():
    ids = {
        extract(rss_item(f"<title>T</title><description>{words}</description>")).entries[0].id
        for words in ("Draft.", "Corrected.")
    }
    assert len(ids) == 1


@pytest.mark.parametrize("title", ["A", "T", "CAT", "DATA", "AT"])
def test_short_titles_that_look_like_a_cdata_scrap_are_kept(title):
    (entry,) = extract(rss_item(f"<guid>1</guid><title>{title}</title>")).entries
    assert entry.title == title
