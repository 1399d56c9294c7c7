"""Key-points boxes on small pages written for these tests."""

from __future__ import annotations

import pytest

from bot.errors import ExtractError
from bot.model import KeyPointsKind, SourceKind
from bot.sources.extract import extract
from bot.sources.extract.keypoints import SUMMARY_HEADINGS, heading_kind

# The shape of the seed page (a live-updates article with a summary box, then furniture),
# in words written for this test.
SEED_SHAPED_PAGE = """<!doctype html>
<html><head><title>Storm live updates: the river crests downtown</title>
<link rel="canonical" href="https://news.example/storm-live"></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li></ul></nav>
<article>
<h1>Storm live updates: the river crests downtown</h1>
<p>The river rose through the night and crested just after dawn, the city said.</p>
<p>Crews worked to keep the main bridge open.</p>
<div class="summary-box">
  <h2>Here\u2019s what to know</h2>
  <ul>
    <li>The river crested at 9.1 metres,
      <a href="/levels">the highest level</a> in twenty years.</li>
    <li>About 3,000 homes are without power; <time>08:15</time> repairs are under way.</li>
    <li>Schools in the lower town are closed until Thursday.</li>
  </ul>
</div>
<a class="more" href="/storm">Read More</a>
<section class="related"><h3>Related Posts</h3>
  <ul><li><a href="/a">Last year's floods, in pictures</a></li>
  <li><a href="/b">How rivers are measured</a></li></ul>
</section>
</article>
<footer><ul><li>Contact us</li><li>Terms</li></ul></footer>
</body></html>"""


def test_summary_box_under_curly_apostrophe_heading_is_the_key_points():
    snapshot = extract(SEED_SHAPED_PAGE.encode())
    assert snapshot.key_points.kind is KeyPointsKind.SUMMARY
    assert snapshot.key_points.items == (
        "The river crested at 9.1 metres, the highest level in twenty years.",
        "About 3,000 homes are without power; repairs are under way.",
        "Schools in the lower town are closed until Thursday.",
    )


def test_page_furniture_is_never_a_key_point():
    items = " ".join(extract(SEED_SHAPED_PAGE.encode()).key_points.items)
    for furniture in ("Read More", "Related Posts", "in pictures", "Home", "Contact us"):
        assert furniture not in items


def test_page_with_a_box_and_no_live_blog_is_kind_page():
    snapshot = extract(SEED_SHAPED_PAGE.encode(), url="https://mirror.example/x")
    assert snapshot.kind is SourceKind.PAGE
    assert snapshot.entries == ()
    assert snapshot.title == "Storm live updates: the river crests downtown"
    assert snapshot.url == "https://news.example/storm-live"  # the canonical link wins


@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("Here's what to know", KeyPointsKind.SUMMARY),
        ("Here\u2019s what to know:", KeyPointsKind.SUMMARY),
        ("HERE'S WHAT TO KNOW", KeyPointsKind.SUMMARY),
        ("What we know so far", KeyPointsKind.SUMMARY),
        ("What to know", KeyPointsKind.SUMMARY),
        ("Key points", KeyPointsKind.SUMMARY),
        ("Summary", KeyPointsKind.SUMMARY),
        ("Catch up", KeyPointsKind.SUMMARY),
        ("Key events", KeyPointsKind.KEY_EVENTS),
        ("Related Posts", None),
        ("Read More", None),
        (
            "Summary judgement was entered by the court late on Monday after a long hearing "
            "in the city",
            None,
        ),
    ],
)
def test_heading_table(heading, kind):
    assert heading_kind(heading) is kind


def _page(box: str) -> bytes:
    return f"<html><head><title>T</title></head><body>{box}</body></html>".encode()


def test_first_box_found_wins_summary_before_key_events():
    page = _page(
        "<h2>Key events</h2><ul><li>Event one</li></ul>"
        "<h2>What we know</h2><ul><li>Fact one</li></ul>"
    )
    key_points = extract(page).key_points
    assert key_points.kind is KeyPointsKind.SUMMARY
    assert key_points.items == ("Fact one",)


def test_key_events_list_under_a_heading():
    key_points = extract(_page("<h3>Key events</h3><ol><li>Polls close</li></ol>")).key_points
    assert key_points.kind is KeyPointsKind.KEY_EVENTS
    assert key_points.items == ("Polls close",)


def test_reach_key_events_box_drops_times():
    box = (
        '<div class="live-event-key-events"><h2>Key Events</h2><ul>'
        '<li><div><a data-id="1">Road reopens</a><time>10:02</time></div></li>'
        '<li><div><a data-id="2">Ferry cancelled</a><time>09:40</time></div></li></ul></div>'
    )
    key_points = extract(_page(box)).key_points
    assert key_points.kind is KeyPointsKind.KEY_EVENTS
    assert key_points.items == ("Road reopens", "Ferry cancelled")


def test_heading_wrapped_in_a_div_still_finds_its_list():
    box = "<div><div><h2>Summary</h2></div><div><ul><li>One</li><li>Two</li></ul></div></div>"
    assert extract(_page(box)).key_points.items == ("One", "Two")


def test_list_after_the_next_heading_is_not_taken():
    box = "<h2>Summary</h2><p>Nothing yet.</p><h2>Other news</h2><ul><li>Unrelated</li></ul>"
    with pytest.raises(ExtractError):
        extract(_page(box))


def test_summary_heading_inside_navigation_is_ignored():
    box = "<nav><h2>Summary</h2><ul><li>Menu item</li></ul></nav>"
    with pytest.raises(ExtractError):
        extract(_page(box))


def test_live_page_box_and_updates_together():
    page = _page(
        '<script type="application/ld+json">{"@type":"LiveBlogPosting","headline":"H",'
        '"liveBlogUpdate":[{"@id":"u1","headline":"First","articleBody":"Text."}]}</script>'
        "<h2>What to know</h2><ul><li>Fact</li></ul>"
    )
    snapshot = extract(page)
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert snapshot.key_points.items == ("Fact",)
    assert [e.id for e in snapshot.entries] == ["u1"]


@pytest.mark.parametrize("heading", SUMMARY_HEADINGS)
@pytest.mark.parametrize("apostrophe", ["'", "\u2019"], ids=["straight", "curly"])
def test_every_heading_of_the_table_introduces_the_summary_on_a_page(heading, apostrophe):
    written = heading.replace("'", apostrophe).title()
    page = _page(f"<h3>{written}:</h3><ul><li>Fact one</li><li>Fact two</li></ul>")
    snapshot = extract(page)
    assert snapshot.kind is SourceKind.PAGE
    assert snapshot.key_points.kind is KeyPointsKind.SUMMARY
    assert snapshot.key_points.items == ("Fact one", "Fact two")


@pytest.mark.parametrize("furniture", ["Read More", "Related Posts", "Share", "Advertisement"])
def test_furniture_inside_the_summary_list_is_not_a_key_point(furniture):
    box = f"<h2>What to know</h2><ul><li>Fact</li><li><a href='/x'>{furniture}</a></li></ul>"
    assert extract(_page(box)).key_points.items == ("Fact",)
