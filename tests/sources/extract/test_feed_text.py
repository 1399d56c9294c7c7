"""What a feed item's title and text are, however the feed writes them (synthetic feeds)."""

from __future__ import annotations

import base64

import pytest

from bot.sources.extract import extract

ATOM_NS = "http://www.w3.org/2005/Atom"
XHTML_NS = "http://www.w3.org/1999/xhtml"


def rss(item: str, namespaces: str = "") -> bytes:
    return (
        f"<rss version='2.0' {namespaces}><channel><title>Harbour news</title>"
        f"<item><guid>h-1</guid>{item}</item></channel></rss>"
    ).encode()


def atom(entry: str, feed_title: str = "<title>Harbour news</title>") -> bytes:
    return (
        f"<feed xmlns='{ATOM_NS}'>{feed_title}<entry><id>tag:harbour.example,2024:1</id>"
        f"{entry}</entry></feed>"
    ).encode()


def only(body: bytes):
    (entry,) = extract(body).entries
    return entry


# --- full text: content:encoded, xhtml:body, fullitem --------------------------------------


def test_content_encoded_is_the_text_over_the_description():
    entry = only(
        rss(
            "<description>The ferry is late\u2026</description><content:encoded><![CDATA["
            "<p>The ferry is late.</p><p>It sails at noon.</p>]]></content:encoded>",
            "xmlns:content='http://purl.org/rss/1.0/modules/content/'",
        )
    )
    assert entry.text == "The ferry is late.\n\nIt sails at noon."


def test_xhtml_body_is_the_text():
    paragraphs = "<p>Crews cleared the quay.</p><p>Boats moor again.</p>"
    entry = only(rss(f"<body xmlns='{XHTML_NS}'>{paragraphs}</body>"))
    assert entry.text == "Crews cleared the quay.\n\nBoats moor again."


def test_fullitem_is_the_text():
    entry = only(rss("<fullitem>&lt;p&gt;The pier reopens on Monday.&lt;/p&gt;</fullitem>"))
    assert entry.text == "The pier reopens on Monday."


# --- Atom text constructs by type ----------------------------------------------------------


def test_atom_xhtml_title_is_read_not_null():
    entry = only(
        atom(
            f"<title type='xhtml'><div xmlns='{XHTML_NS}'>Storm <em>closes</em> the pier</div>"
            "</title><summary>x</summary>"
        )
    )
    assert entry.title == "Storm closes the pier"


def test_atom_xhtml_feed_title_is_read():
    body = atom(
        "<title>t</title>",
        feed_title=f"<title type='xhtml'><div xmlns='{XHTML_NS}'>The <b>Harbour</b></div></title>",
    )
    assert extract(body).title == "The Harbour"


def test_atom_xhtml_content_is_read():
    entry = only(
        atom(
            f"<title>t</title><content type='xhtml'><div xmlns='{XHTML_NS}'><p>Wind: 90 km/h."
            "</p><p>Gusts ease by evening.</p></div></content>"
        )
    )
    assert entry.text == "Wind: 90 km/h.\n\nGusts ease by evening."


def test_atom_text_title_keeps_what_looks_like_markup_as_written():
    entry = only(atom("<title type='text'>Why &lt;blink&gt; died &amp; what replaced it</title>"))
    assert entry.title == "Why <blink> died & what replaced it"


def test_atom_text_content_is_text_not_parsed_as_html():
    entry = only(
        atom("<title>t</title><content type='text'>Use &lt;br&gt; for a line break.</content>")
    )
    assert entry.text == "Use <br> for a line break."


def test_atom03_base64_content_is_decoded():
    encoded = base64.b64encode(b"<p>Tide tables for <b>May</b></p>").decode()
    body = (
        "<feed version='0.3' xmlns='http://purl.org/atom/ns#'><entry><id>a</id>"
        f"<content type='text/html' mode='base64'>{encoded}</content></entry></feed>"
    ).encode()
    assert only(body).text == "Tide tables for May"


def test_atom03_base64_title_without_a_type_is_plain_text():
    encoded = base64.b64encode(b"Rules for <tags>").decode()
    body = (
        "<feed version='0.3' xmlns='http://purl.org/atom/ns#'><entry><id>a</id>"
        f"<title mode='base64'>{encoded}</title></entry></feed>"
    ).encode()
    assert only(body).title == "Rules for <tags>"


def test_atom10_binary_content_is_decoded_from_base64():
    encoded = base64.b64encode(b"Harbour log, day one").decode()
    entry = only(
        atom(f"<title>t</title><content type='application/octet-stream'>{encoded}</content>")
    )
    assert entry.text == "Harbour log, day one"


# --- repairs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("garbled", "meant"),
    [
        ("Caf\u00c3\u00a9 cr\u00c3\u00a8me", "Caf\u00e9 cr\u00e8me"),
        ("It\u00e2\u20ac\u2122s late \u00e2\u20ac\u201d again", "It\u2019s late \u2014 again"),
        (
            "\u00d0\u0153\u00d0\u00be\u00d1\u0081\u00d0\u00ba\u00d0\u00b2\u00d0\u00b0",
            "\u041c\u043e\u0441\u043a\u0432\u0430",
        ),
    ],
)
def test_double_encoded_utf8_is_repaired(garbled, meant):
    entry = only(rss(f"<title>{garbled}</title><description>{garbled}</description>"))
    assert (entry.title, entry.text) == (meant, meant)


def test_double_encoded_utf8_written_as_references_is_repaired():
    entry = only(rss("<description>Wait&#226;&#128;&#166; then go</description>"))
    assert entry.text == "Wait\u2026 then go"


def test_text_that_merely_has_accents_is_left_alone():
    text = "\u00c0 bient\u00f4t, \u00e7a va? \u00d8resund \u00bb fin \u00ab"
    assert only(rss(f"<description>{text}</description>")).text == text


@pytest.mark.parametrize("element", ["description", "content:encoded"])
def test_an_objects_fallback_text_is_kept(element):
    markup = (
        "&lt;p&gt;Watch the launch.&lt;object data='launch.mp4'&gt;&lt;param name='a' value='b'"
        "&gt;Video of the launch from the east pier.&lt;/object&gt;&lt;/p&gt;"
    )
    entry = only(
        rss(
            f"<{element}>{markup}</{element}>",
            "xmlns:content='http://purl.org/rss/1.0/modules/content/'",
        )
    )
    assert entry.text == "Watch the launch.Video of the launch from the east pier."


def test_an_empty_object_hides_nothing_after_it():
    entry = only(rss(f"<body xmlns='{XHTML_NS}'>before<object data='x'/> after</body>"))
    assert entry.text == "before after"


@pytest.mark.parametrize(
    ("quoted", "shown"),
    [
        ("&lt;!DOCTYPE rss&gt; opened old feeds", "<!DOCTYPE rss> opened old feeds"),
        ("a &lt;![CDATA[ section ]]&gt; is XML only", "a <![CDATA[ section ]]> is XML only"),
    ],
)
def test_a_declaration_quoted_in_the_text_is_shown_not_swallowed(quoted, shown):
    assert only(rss(f"<description>{quoted}</description>")).text == shown


def test_the_doctype_of_a_whole_page_pasted_into_a_feed_is_not_shown():
    page = "&lt;!DOCTYPE html&gt;&lt;html&gt;&lt;body&gt;&lt;p&gt;Pier open.&lt;/p&gt;&lt;/body&gt;"
    assert only(rss(f"<description>{page}</description>")).text == "Pier open."


def test_an_unclosed_comment_hides_only_itself():
    entry = only(rss("<title>Ferry &lt;!-- draft &gt;update</title>"))
    assert entry.title == "Ferry update"


# --- namespaces -------------------------------------------------------------------------------

MODULES = (
    "xmlns:media='http://search.yahoo.com/mrss/' "
    "xmlns:itunes='http://www.itunes.com/DTDs/Podcast-1.0.dtd' "
    "xmlns:x='http://x.example/ns'"
)


@pytest.mark.parametrize("order", ["module first", "module last"])
def test_another_namespaces_title_is_never_the_items_title(order):
    own, other = "<title>Own title</title>", "<media:title>Video title</media:title>"
    item = other + own if order == "module first" else own + other
    assert only(rss(item, MODULES)).title == "Own title"


@pytest.mark.parametrize("element", ["itunes:summary", "x:description", "media:description"])
def test_another_namespaces_description_is_never_the_items_text(element):
    item = f"<{element}>Not this</{element}><description>This one</description>"
    assert only(rss(item, MODULES)).text == "This one"


def test_an_unknown_namespaces_description_is_never_read_even_alone():
    assert only(rss("<x:description>Not this</x:description>", MODULES)).text == ""


def test_a_podcasts_itunes_summary_stands_in_when_the_item_has_no_text_of_its_own():
    assert only(rss("<itunes:summary>Episode 4</itunes:summary>", MODULES)).text == "Episode 4"


def test_a_media_title_stands_in_when_the_item_has_no_title_of_its_own():
    assert (
        only(rss("<media:title>Clip of the day</media:title>", MODULES)).title == "Clip of the day"
    )


# --- character references and ampersands ------------------------------------------------------


@pytest.mark.parametrize("reference", ["&#65;", "&#x41;", "&#X41;", "&#0065;", "&#x0041;"])
def test_numeric_character_references_in_every_spelling(reference):
    assert only(rss(f"<title>{reference}BC</title>")).title == "ABC"


def test_a_raw_ampersand_in_a_link_is_kept_as_written():
    entry = only(rss("<link>https://news.example/a?id=1&page=2&ref</link>"))
    assert entry.url == "https://news.example/a?id=1&page=2&ref"


def test_a_plain_entity_declared_in_the_doctype_is_expanded():
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY site "harbour.example">]>'
        b"<rss version='2.0'><channel><item><guid isPermaLink='false'>tag:&site;,2024:7</guid>"
        b"</item></channel></rss>"
    )
    assert only(body).id == "tag:harbour.example,2024:7"


def test_double_encoded_utf8_in_a_json_feed_is_repaired():
    body = (
        '{"version": "https://jsonfeed.org/version/1.1", "title": "Caf\u00c3\u00a9",'
        ' "items": [{"id": "1", "content_text": "It\u00e2\u20ac\u2122s open"}]}'
    ).encode()
    snapshot = extract(body)
    assert (snapshot.title, snapshot.entries[0].text) == ("Caf\u00e9", "It\u2019s open")
