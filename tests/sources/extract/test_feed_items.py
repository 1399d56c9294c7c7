"""Links and ids of feed items: guid permalinks, Atom links, rdf:about, xml:base (synthetic)."""

from __future__ import annotations

import pytest

from bot.sources.extract import extract

ATOM_NS = "http://www.w3.org/2005/Atom"


def rss_item(item: str) -> bytes:
    return (
        f"<rss version='2.0'><channel><title>F</title><item>{item}</item></channel></rss>".encode()
    )


def atom_entry(entry: str, attributes: str = "") -> bytes:
    feed = f"<feed xmlns='{ATOM_NS}' {attributes}><title>A</title><entry>{entry}</entry></feed>"
    return feed.encode()


def only(body: bytes, url: str | None = None):
    (entry,) = extract(body, url=url).entries
    return entry


@pytest.mark.parametrize("attribute", ["", " isPermaLink='true'"])
def test_a_permalink_guid_is_the_link_when_there_is_no_link(attribute):
    entry = only(
        rss_item(f"<guid{attribute}>https://news.example/2024/ferry</guid><title>T</title>")
    )
    assert (entry.url, entry.id) == ("https://news.example/2024/ferry",) * 2


def test_a_guid_that_is_no_permalink_is_never_the_link():
    entry = only(
        rss_item("<guid isPermaLink='false'>https://news.example/x</guid><title>T</title>")
    )
    assert (entry.url, entry.id) == (None, "https://news.example/x")


def test_a_permalink_guid_that_is_no_address_is_not_taken_for_one():
    entry = only(rss_item("<guid>4956764</guid><title>T</title>"))
    assert (entry.url, entry.id) == (None, "4956764")


def test_the_items_own_link_wins_over_its_permalink_guid():
    entry = only(rss_item("<guid>https://a.example/g</guid><link>https://a.example/l</link>"))
    assert (entry.url, entry.id) == ("https://a.example/l", "https://a.example/g")


def test_an_atom_link_with_its_address_as_text_is_read():
    entry = only(atom_entry("<id>urn:x:1</id><link>https://atom.example/text-link</link>"))
    assert entry.url == "https://atom.example/text-link"


@pytest.mark.parametrize(
    "links",
    [
        "<link rel='self' href='https://a.example/self'/><link href='https://a.example/page'/>",
        "<link rel='enclosure' href='https://a.example/a.mp3'/>"
        "<link rel='alternate' href='https://a.example/page'/>",
        "<link rel='replies' href='https://a.example/c'/><link rel='ALTERNATE' "
        "href='https://a.example/page'/>",
    ],
)
def test_the_alternate_atom_link_is_the_items_link(links):
    assert only(atom_entry(f"<id>urn:x:1</id>{links}")).url == "https://a.example/page"


def test_an_rss10_items_rdf_about_is_its_id():
    body = (
        b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
        b"xmlns='http://purl.org/rss/1.0/'><channel rdf:about='https://rdf.example/'>"
        b"<title>R</title></channel><item rdf:about='https://rdf.example/id/7'>"
        b"<title>Seven</title><link>https://rdf.example/read/7</link></item></rdf:RDF>"
    )
    entry = only(body)
    assert (entry.id, entry.url) == ("https://rdf.example/id/7", "https://rdf.example/read/7")


def test_links_are_resolved_against_xml_base():
    body = atom_entry(
        "<id>urn:x:1</id><link href='story/9'/>", attributes="xml:base='https://base.example/news/'"
    )
    assert (
        only(body, url="https://feeds.example/atom.xml").url == "https://base.example/news/story/9"
    )


def test_nested_xml_base_values_build_on_each_other():
    body = (
        f"<feed xmlns='{ATOM_NS}' xml:base='https://base.example/a/'><title>A</title>"
        "<entry xml:base='b/'><id>urn:x:1</id><link href='c'/></entry></feed>"
    ).encode()
    assert only(body).url == "https://base.example/a/b/c"


def test_relative_links_without_xml_base_use_the_documents_address():
    body = atom_entry("<id>urn:x:1</id><link href='/story/9'/>")
    assert only(body, url="https://feeds.example/atom.xml").url == "https://feeds.example/story/9"


def test_an_id_that_is_a_relative_path_is_resolved_like_a_link():
    body = atom_entry("<id>/posts/42</id>")
    assert only(body, url="https://feeds.example/atom.xml").id == "https://feeds.example/posts/42"


@pytest.mark.parametrize("name", ["4956764", "tag:x.example,2024:1", "urn:uuid:1234", "post-42"])
def test_an_id_that_is_a_name_is_kept_as_written(name):
    body = atom_entry(f"<id>{name}</id>")
    assert only(body, url="https://feeds.example/atom.xml").id == name


def test_the_feeds_own_link_is_resolved_against_xml_base():
    body = (
        f"<feed xmlns='{ATOM_NS}' xml:base='https://base.example/'><title>A</title>"
        "<link href='home'/></feed>"
    ).encode()
    assert extract(body).url == "https://base.example/home"
