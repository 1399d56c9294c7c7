"""OPML alone: reading a file into a plan (stories, outlines left out), refusals, the export."""

from __future__ import annotations

from datetime import UTC, datetime

import listparser
import pytest
from lxml import etree

from bot.errors import ExtractError, FetchError
from bot.model import SourceKind
from bot.services.common import Refusal
from bot.services.imports import Added, ImportResult, skip_reason, summary_lines
from bot.services.opml import (
    MAX_OPML_BYTES,
    ExportedSource,
    PlannedFeed,
    Skipped,
    SkipReason,
    export_opml,
    read_opml,
)
from bot.services.sources import OverQuota
from bot.sources.addresses import AddressRefused
from tests.services.opml_files import feed_outline, group, opml

NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def test_a_feed_in_an_outline_group_joins_the_groups_story():
    plan = read_opml(
        opml(
            group("Tech", feed_outline("Ars", "https://ars.test/feed")),
            group("Tech", feed_outline("Verge", "https://verge.test/rss")),
        )
    )
    assert plan.feeds == (
        PlannedFeed("https://ars.test/feed", "Ars", "Tech"),
        PlannedFeed("https://verge.test/rss", "Verge", "Tech"),
    )
    assert plan.stories == ["Tech"]


def test_nested_groups_make_one_story_named_by_their_path():
    plan = read_opml(opml(group("World", group("Europe", feed_outline("BBC", "https://b.test/")))))
    assert [f.story for f in plan.feeds] == ["World / Europe"]


def test_a_feed_in_no_group_is_a_story_of_its_own_named_after_the_outline():
    plan = read_opml(
        opml(feed_outline("Solo", "https://s.test/rss"), feed_outline(None, "https://n.test/rss"))
    )
    assert [(f.url, f.story) for f in plan.feeds] == [
        ("https://s.test/rss", "Solo"),
        ("https://n.test/rss", None),  # no text: named after the page, as /source add does
    ]
    assert plan.unnamed == 1


def test_opml_1_0_and_the_title_attribute_are_read():
    data = opml(
        '<outline title="Old reader" xmlUrl="https://old.test/rss"/>', version="1.0", title="Old"
    )
    plan = read_opml(data)
    assert plan.title == "Old"
    assert plan.feeds == (PlannedFeed("https://old.test/rss", "Old reader", "Old reader"),)


def test_outlines_that_cannot_be_feeds_are_left_out_with_why():
    plan = read_opml(
        opml(
            feed_outline("FTP", "ftp://f.test/rss"),
            feed_outline("Script", "javascript:alert(1)"),
            '<outline type="include" text="More" url="https://l.test/more.opml"/>',
            feed_outline("Fine", "https://fine.test/rss"),
        )
    )
    assert [f.url for f in plan.feeds] == ["https://fine.test/rss"]
    assert [(s.text, s.reason) for s in plan.skipped] == [
        ("FTP", SkipReason.NOT_HTTP),
        ("Script", SkipReason.NOT_HTTP),
        ("More", SkipReason.SUBSCRIPTION_LIST),
    ]


def test_a_bare_ampersand_is_read_and_the_damage_reported():
    data = opml(feed_outline("Q", "https://q.test/rss?a=1&b=2")).replace(b"&amp;", b"&")
    plan = read_opml(data)
    assert [f.url for f in plan.feeds] == ["https://q.test/rss?a=1&b=2"]
    assert plan.damaged is not None and plan.damaged.startswith("the XML is broken at line 2")


def test_a_well_formed_file_reports_no_damage():
    assert read_opml(opml(feed_outline("Q", "https://q.test/rss"))).damaged is None


def test_non_ascii_names_survive():
    plan = read_opml(opml(group("Café ☕", feed_outline("Ünïcode", "https://u.test/rss"))))
    assert plan.feeds[0].story == "Café ☕" and plan.feeds[0].text == "Ünïcode"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "not OPML (the file is empty)"),
        (b"   \n ", "not OPML (the file is empty)"),
        (b"\x00\x01\x02binary", "not OPML (it has no <opml> root element)"),
        (b'<rss version="2.0"><channel></channel></rss>', "not OPML"),
        (b'<opml version="2.0"><body><outline text="a', "lists no feeds"),
        (opml(group("Empty group")), "lists no feeds"),
        (b"x" * (MAX_OPML_BYTES + 1), "over 1 MB"),
    ],
    ids=["empty", "blank", "binary", "rss", "truncated", "no-feeds", "too-large"],
)
def test_unusable_files_are_refused_saying_what_to_do(data, expected):
    with pytest.raises(Refusal) as refused:
        read_opml(data)
    assert expected in str(refused.value)
    assert "/source import" in str(refused.value)


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<opml version="2.0"><body><outline type="rss" text="&x;" xmlUrl="https://x.test/"/>'
        "</body></opml>"
    ).encode()
    plan = read_opml(data)
    assert all("TOP-SECRET" not in f.text for f in plan.feeds)


def sources() -> list[tuple[str, list[ExportedSource]]]:
    return [
        (
            'Tech & "Science" <live>',
            [
                ExportedSource("https://a.test/rss?x=1&y=2", "A \x01feed", SourceKind.FEED),
                ExportedSource("https://live.test/blog", None, SourceKind.LIVEBLOG),
            ],
        ),
        ("Solo", [ExportedSource("https://s.test/atom", "Solo feed", SourceKind.FEED)]),
    ]


def test_export_is_opml_2_with_an_outline_per_story_holding_its_sources():
    root = etree.fromstring(export_opml(sources(), title="Bulletin: Newsroom", now=NOW))
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.findtext("head/title") == "Bulletin: Newsroom"
    assert root.findtext("head/dateCreated") == "Wed, 25 Nov 2026 05:00:00 +0000"
    story, solo = root.find("body")
    assert story.get("text") == 'Tech & "Science" <live>'
    feed, page = story
    assert dict(feed.attrib) == {
        "type": "rss",
        "text": "A feed",  # a control character XML cannot carry is dropped
        "title": "A feed",
        "xmlUrl": "https://a.test/rss?x=1&y=2",
    }
    assert page.get("xmlUrl") == page.get("htmlUrl") == "https://live.test/blog"
    assert page.get("text") == "https://live.test/blog"  # untitled: its address
    assert [o.get("xmlUrl") for o in solo] == ["https://s.test/atom"]


def test_export_reads_back_as_the_same_plan():
    plan = read_opml(export_opml(sources(), title="t", now=NOW))
    assert [(f.url, f.story) for f in plan.feeds] == [
        ("https://a.test/rss?x=1&y=2", 'Tech & "Science" <live>'),
        ("https://live.test/blog", 'Tech & "Science" <live>'),
        ("https://s.test/atom", "Solo"),
    ]
    assert plan.skipped == () and plan.damaged is None


def test_listparser_reads_the_export_without_complaint():
    parsed = listparser.parse(export_opml(sources(), title="t", now=NOW))
    assert not parsed.bozo and parsed.version == "opml2"
    assert [f.url for f in parsed.feeds] == [
        "https://a.test/rss?x=1&y=2",
        "https://live.test/blog",
        "https://s.test/atom",
    ]
    assert parsed.feeds[0].tags == ['Tech & "Science" <live>']


def refusal_caused_by(error: Exception) -> Refusal:
    try:
        raise Refusal("refused") from error
    except Refusal as refusal:
        return refusal


@pytest.mark.parametrize(
    ("refusal", "reason", "detail"),
    [
        (OverQuota("full"), SkipReason.OVER_QUOTA, ""),
        (
            refusal_caused_by(AddressRefused("address refused: 10.0.0.1 is private")),
            SkipReason.REFUSED_ADDRESS,
            "10.0.0.1 is private",
        ),
        (refusal_caused_by(ExtractError("plain text")), SkipReason.NOT_A_FEED, "plain text"),
        (refusal_caused_by(FetchError("HTTP 404")), SkipReason.UNREACHABLE, "HTTP 404"),
        (Refusal("config owns it"), SkipReason.REFUSED, "config owns it"),
    ],
)
def test_each_refusal_of_source_add_becomes_a_reason(refusal, reason, detail):
    assert skip_reason(refusal) == (reason, detail)


def test_the_summary_neutralises_what_the_file_says():
    result = ImportResult(
        added=(Added("https://a.test/rss", "**Bold** @everyone"),),
        already=(),
        skipped=(Skipped("javascript:alert(1)", "<@123> click", SkipReason.NOT_HTTP),),
    )
    text = "\n".join(summary_lines(result))
    assert "@everyone" not in text.replace("@\u200beveryone", "")
    assert "<@123>" not in text and "\\*\\*Bold\\*\\*" in text
    assert "<javascript:" not in text  # only http(s) addresses are shown as links
