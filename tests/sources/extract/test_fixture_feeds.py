"""What each real feed in ../shared/fixtures/feeds must yield (see its README)."""

from __future__ import annotations

import re

import pytest

from bot.model import SourceKind, format_utc

COUNTS = {
    "rssparser__content-encoded.rss": 7,
    "rssparser__craigslist.rss": 25,
    "rssparser__heise.atom": 15,
    "rssparser__reddit-atom.rss": 24,
    "feedrs__atom_example_reddit.xml": 1,
    "feedrs__atom_mediarss_youtube_1.xml": 1,
    "feedrs__jsonfeed_elastic_1.1.json": 3,
    "feedrs__rss_1.0_biorxiv.xml": 1,
    "feedrs__rss_2.0_bbc.xml": 1,
    "feedrs__rss_2.0_cloudflare.xml": 1,
    "feedrs__rss_2.0_spiegel.xml": 1,
    "feedrs__rss_2.0_wirecutter.xml": 1,
    "feedrs__rss_2.0_ilgiornale.xml": 1,
    "feedrs__rss_2.0_ilmessaggero.xml": 1,
    "feedrs__rss_2.0_nbcny.xml": 1,
    "feedparser__rss2.0withAtomNS.xml": 1,
    "feedparser__rss_incomplete_cdata.xml": 1,
    "feedparser__rss_item_link_corrupted_ampersands.xml": 1,
    "feedparser__undeclared_namespace.xml": 0,
}
TAG = re.compile(r"</?(p|div|a|br|span|img|table|td|figure)\b[^>]*>", re.IGNORECASE)
ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos|nbsp);", re.IGNORECASE)


def test_every_feed_fixture_is_in_the_table(fixtures_dir):
    assert {p.name for p in (fixtures_dir / "feeds").iterdir()} == set(COUNTS)


@pytest.mark.parametrize(("name", "count"), sorted(COUNTS.items()))
def test_feed_yields_its_items(read_fixture, name, count):
    snapshot = read_fixture(f"feeds/{name}")
    assert snapshot.kind is SourceKind.FEED
    assert snapshot.key_points is None
    assert len(snapshot.entries) == count
    assert len({e.id for e in snapshot.entries}) == count


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_feed_text_is_plain(read_fixture, name):
    for entry in read_fixture(f"feeds/{name}").entries:
        for value in (entry.text, entry.title or ""):
            assert not TAG.search(value)
            assert not ENTITY.search(value)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_feed_entries_are_oldest_first(read_fixture, name):
    dated = [e.published for e in read_fixture(f"feeds/{name}").entries if e.published]
    assert dated == sorted(dated)


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("feedrs__rss_2.0_nbcny.xml", "NBC New York"),  # CDATA channel title
        ("feedrs__jsonfeed_elastic_1.1.json", "Blog \u2013 InfluxData"),  # literal &#8211;
        ("feedrs__rss_2.0_ilmessaggero.xml", "ilmessaggero.it - mondo"),  # no XML declaration
        ("rssparser__heise.atom", "heise developer neueste Meldungen"),
        ("rssparser__craigslist.rss", "craigslist SF bay area | apts/housing for rent search"),
    ],
)
def test_feed_title(read_fixture, name, title):
    assert read_fixture(f"feeds/{name}").title == title


def test_corrupted_ampersands_link_reads_plainly(read_fixture):
    (entry,) = read_fixture("feeds/feedparser__rss_item_link_corrupted_ampersands.xml").entries
    assert entry.url == "http://link/get?a=1&b=2"
    assert entry.id == "http://link/get?a=1&b=2"  # no guid: the link


def test_undeclared_namespace_is_a_feed_with_nothing_found(read_fixture):
    snapshot = read_fixture("feeds/feedparser__undeclared_namespace.xml")
    assert snapshot.entries == ()


def test_unterminated_cdata_still_yields_the_item(read_fixture):
    snapshot = read_fixture("feeds/feedparser__rss_incomplete_cdata.xml")
    assert snapshot.title == "can feedparser read this xml"
    (entry,) = snapshot.entries
    assert entry.id.startswith("sha256:")
    assert entry.title is None  # only the scrap of a CDATA opener was left


def test_json_feed_items_without_id_fall_back_to_their_url(read_fixture):
    entries = read_fixture("feeds/feedrs__jsonfeed_elastic_1.1.json").entries
    assert all(e.id == e.url for e in entries)
    assert entries[-1].title == "InfluxDB vs. Graphite for Time Series Data & Metrics Benchmark"


def test_guid_is_the_id_when_present(read_fixture):
    (entry,) = read_fixture("feeds/feedrs__rss_2.0_nbcny.xml").entries
    assert entry.id == "4956764"


@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("feedrs__rss_2.0_nbcny.xml", "2023-12-16T14:02:33Z"),  # "Sat, Dec 16 2023 02:02:33 PM"
        ("feedrs__rss_2.0_ilmessaggero.xml", "2022-11-15T23:38:15Z"),  # Italian day name
        ("feedrs__rss_2.0_ilgiornale.xml", "2022-11-15T20:15:04Z"),  # "Z" as a zone
        ("feedparser__rss2.0withAtomNS.xml", "2009-12-25T03:30:22Z"),
    ],
)
def test_feed_dates_become_utc(read_fixture, name, published):
    (entry,) = read_fixture(f"feeds/{name}").entries
    assert format_utc(entry.published) == published


def test_double_escaped_description_is_decoded(read_fixture):
    (entry,) = read_fixture("feeds/feedrs__rss_2.0_ilgiornale.xml").entries
    assert "In Italia l'uomo \u00e8 accusato" in entry.text
    assert entry.text.startswith("\u00c8 stato arrestato")


def test_content_encoded_is_preferred_to_the_description(read_fixture):
    (entry,) = read_fixture("feeds/feedrs__rss_2.0_wirecutter.xml").entries
    assert entry.text.startswith("Modern board games can be wonderfully complex")
    assert "And\u2026" not in entry.text  # the description's truncation
    assert "\n\n" in entry.text


def test_markup_written_inside_description_keeps_word_boundaries(read_fixture):
    texts = [e.text for e in read_fixture("feeds/rssparser__reddit-atom.rss").entries]
    assert any(t.startswith("A threesome\n\nsubmitted by") for t in texts)  # escaped twice
    assert all("SC_OFF" not in t for t in texts)


def test_atom_entry_reads_link_and_dates(read_fixture):
    (entry,) = read_fixture("feeds/feedrs__atom_mediarss_youtube_1.xml").entries
    assert entry.url == "https://www.youtube.com/watch?v=0A1ouV7iD8o"
    assert entry.id == "yt:video:0A1ouV7iD8o"
    assert format_utc(entry.published) == "2020-12-22T19:15:01Z"
    assert format_utc(entry.updated) == "2020-12-25T23:12:12Z"
    assert entry.text  # from media:group/media:description


def test_rdf_items_sit_beside_the_channel(read_fixture):
    snapshot = read_fixture("feeds/rssparser__craigslist.rss")
    assert snapshot.url == "https://sfbay.craigslist.org/search/apa"
    assert all(e.id.startswith("http://sfbay.craigslist.org/") for e in snapshot.entries)


def test_content_encoded_is_the_text_when_there_is_no_description(read_fixture):
    entries = read_fixture("feeds/rssparser__content-encoded.rss").entries
    assert all(e.text for e in entries)  # content:encoded is each item's only body
    forager = {e.title: e for e in entries}["THE CREATIVE FORAGER"]
    assert forager.text.startswith("Using Wild Ingredients in the Kitchen\n\nHEY, YOU!")


@pytest.mark.parametrize(
    ("name", "url"),
    [
        # the channel's <link>, not the Atom self link beside it
        ("rssparser__reddit-atom.rss", "https://www.reddit.com/"),
        ("feedparser__rss2.0withAtomNS.xml", "http://delicious.com/wearehugh"),
        ("feedrs__rss_2.0_ilgiornale.xml", "https://www.ilgiornale.it/taxonomy/term/40821/feed"),
    ],
)
def test_atom_links_inside_rss_do_not_replace_the_channel_link(read_fixture, name, url):
    assert read_fixture(f"feeds/{name}").url == url


def test_reddit_rss_items_keep_their_own_links(read_fixture):
    entries = read_fixture("feeds/rssparser__reddit-atom.rss").entries
    assert all(e.url.startswith("https://www.reddit.com/r/") for e in entries)
    assert all(e.id == e.url for e in entries)  # guid isPermaLink


def test_atom_namespace_rss_item_uses_its_guid(read_fixture):
    (entry,) = read_fixture("feeds/feedparser__rss2.0withAtomNS.xml").entries
    assert entry.id == "http://delicious.com/url/174603f9d836a1aafac49e28ace1c19e#wearehugh"
    assert entry.url == "http://www.kylev.com/2005/03/29/rsync-and-vfat/"
    assert entry.title == "rsync and vfat | Geek at Play"


def test_german_atom_text_keeps_its_umlauts(read_fixture):
    entries = read_fixture("feeds/rssparser__heise.atom").entries
    assert any("verfügbare" in e.text for e in entries)
    assert not any("\ufffd" in (e.title or "") + e.text for e in entries)
