"""What each real live page in ../shared/fixtures/liveblog must yield (see its README)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from bot.model import KeyPointsKind, SourceKind, format_utc
from bot.sources.extract import extract

EXPRESS = "liveblog/express_2024-07-18_harry-meghan-live.html"
CORKBEO = "liveblog/corkbeo_2020-10-06_level3-live.html"
GUARDIAN_DCR = "liveblog/guardian_2021-02-19_mars-landing.dcr.json"
GUARDIAN_LD = "liveblog/guardian_2021-02-19_mars-landing.jsonld.json"
ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)
GUARDIAN_URL = (
    "https://www.theguardian.com/science/live/2021/feb/19/"
    "mars-landing-nasa-perseverance-rover-briefing-latest-live-news-updates"
)


def _assert_oldest_first(entries):
    dated = [e.published for e in entries if e.published is not None]
    assert dated == sorted(dated)


@pytest.mark.parametrize(
    ("name", "count"), [(EXPRESS, 9), (CORKBEO, 26), (GUARDIAN_DCR, 13), (GUARDIAN_LD, 13)]
)
def test_live_page_yields_every_update(read_fixture, name, count):
    snapshot = read_fixture(name)
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert len(snapshot.entries) == count
    assert len({e.id for e in snapshot.entries}) == count


@pytest.mark.parametrize("name", [EXPRESS, CORKBEO, GUARDIAN_DCR, GUARDIAN_LD])
def test_live_page_text_is_plain(read_fixture, name):
    for entry in read_fixture(name).entries:
        for value in (entry.text, entry.title or ""):
            assert not ENTITY.search(value)
            assert not re.search(r"</?[a-z][a-z0-9]*[ >/]", value)
            assert "\n\n\n" not in value
            assert value == value.strip()


@pytest.mark.parametrize("name", [EXPRESS, CORKBEO, GUARDIAN_DCR])
def test_live_page_entries_are_oldest_first(read_fixture, name):
    _assert_oldest_first(read_fixture(name).entries)


def test_express_ids_are_the_url_fragments(read_fixture):
    snapshot = read_fixture(EXPRESS)
    for entry in snapshot.entries:
        assert entry.url.endswith("#" + entry.id)
        assert entry.id.startswith("live-1924698-")


def test_express_decodes_entities_in_json_ld(read_fixture):
    titles = [e.title for e in read_fixture(EXPRESS).entries]
    assert "Meghan Markle 'turned and hissed' at a staffer leaving her in 'tears'" in titles


def test_express_keeps_paragraphs_of_plain_text_bodies(read_fixture):
    newest = read_fixture(EXPRESS).entries[-1]
    first, second = newest.text.split("\n\n")[:2]
    assert first.startswith("Meghan Markle's mum, Doria Ragland")
    assert second.startswith("Doria, 67,")


def test_express_tie_on_published_keeps_reverse_page_order(read_fixture):
    oldest, second = read_fixture(EXPRESS).entries[:2]
    assert oldest.published == second.published
    assert oldest.title.startswith("Meghan Markle shows true colours")
    assert second.title.startswith("Prince Harry and Meghan celebrate")


def test_express_has_no_key_points_box(read_fixture):
    snapshot = read_fixture(EXPRESS)
    assert snapshot.key_points is None
    assert snapshot.url == (
        "https://www.express.co.uk/news/royal/1924698/prince-harry-meghan-markle-live-grifters"
    )


def test_express_dates_are_utc(read_fixture):
    newest = read_fixture(EXPRESS).entries[-1]
    assert format_utc(newest.published) == "2024-07-18T10:48:00Z"
    assert format_utc(newest.updated) == "2024-07-18T10:50:09Z"


def test_corkbeo_ids_are_entry_ids_from_the_fragment(read_fixture):
    ids = [e.id for e in read_fixture(CORKBEO).entries]
    assert ids[0] == "2258190"
    assert ids[-1] == "2259242"
    assert all(i.isdigit() for i in ids)


def test_corkbeo_embed_only_updates_have_empty_text(read_fixture):
    empty = [e for e in read_fixture(CORKBEO).entries if e.text == ""]
    assert len(empty) == 7
    assert all(e.title for e in empty)


def test_corkbeo_titles_lose_trailing_spaces(read_fixture):
    titles = {e.id: e.title for e in read_fixture(CORKBEO).entries}
    assert titles["2259242"] == "Goodnight"


def test_corkbeo_mixed_offsets_become_utc(read_fixture):
    entries = {e.id: e for e in read_fixture(CORKBEO).entries}
    assert format_utc(entries["2259242"].published) == "2020-10-06T20:22:53Z"
    assert format_utc(entries["2259242"].updated) == "2020-10-06T20:22:53Z"


def test_corkbeo_key_events_box_drops_the_time(read_fixture):
    key_points = read_fixture(CORKBEO).key_points
    assert key_points.kind is KeyPointsKind.KEY_EVENTS
    assert key_points.items == ("Coronavirus Ireland: One death and 432 new cases",)


def test_corkbeo_bodies_with_tags_become_text(read_fixture):
    entries = {e.id: e for e in read_fixture(CORKBEO).entries}
    assert entries["2259210"].text == "Coronavirus Ireland: One death and 432 new cases"


def without_json_ld_updates(page: bytes) -> bytes:
    """PAGE with `liveBlogUpdate` taken out of every JSON-LD block (the page stays a
    LiveBlogPosting; its updates are then only in the markup)."""

    def drop(node: object) -> None:
        if isinstance(node, dict):
            node.pop("liveBlogUpdate", None)
            node = list(node.values())
        if isinstance(node, list):
            for child in node:
                drop(child)

    def rewrite(match: re.Match[str]) -> str:
        data = json.loads(match[2], strict=False)
        drop(data)
        return match[1] + json.dumps(data) + match[3]

    text = page.decode("utf-8")
    pattern = r"(<script[^>]*ld\+json[^>]*>)(.*?)(</script>)"
    rewritten, count = re.subn(pattern, rewrite, text, flags=re.DOTALL)
    assert count and "liveBlogUpdate" not in rewritten
    return rewritten.encode("utf-8")


def test_corkbeo_updates_are_read_from_the_markup_when_json_ld_lists_none(fixtures_dir):
    page = (fixtures_dir / CORKBEO).read_bytes()
    from_json_ld = extract(page).entries
    from_markup = extract(without_json_ld_updates(page)).entries
    assert len(from_markup) == 26
    # the same updates, the same ids, titles and times, in the same order
    assert [(e.id, e.title, format_utc(e.published)) for e in from_markup] == [
        (e.id, e.title, format_utc(e.published)) for e in from_json_ld
    ]
    for markup, json_ld in zip(from_markup, from_json_ld, strict=True):
        assert markup.text.split()[:8] == json_ld.text.split()[:8]  # the same words, which
        assert markup.url == json_ld.url  # the markup splits into its own paragraphs


def test_corkbeo_without_any_json_ld_is_still_read_from_its_markup(fixtures_dir):
    page = (fixtures_dir / CORKBEO).read_bytes().decode("utf-8")
    bare = re.sub(r"<script[^>]*ld\+json[^>]*>.*?</script>", "", page, flags=re.DOTALL)
    assert "LiveBlogPosting" not in bare
    snapshot = extract(bare.encode("utf-8"))
    assert snapshot.kind is SourceKind.LIVEBLOG  # its posts are "live-event-entry" elements
    assert [e.id for e in snapshot.entries] == [e.id for e in extract(page.encode()).entries]


def test_guardian_page_data_summary_bullets_are_key_points(read_fixture):
    key_points = read_fixture(GUARDIAN_DCR).key_points
    assert key_points.kind is KeyPointsKind.SUMMARY
    assert len(key_points.items) == 10
    assert key_points.items[0] == "The rover is \u201chealthy\u201d and undergoing systems testing."
    assert key_points.items[1].startswith("It already has beamed back stunning photos")
    assert "surface of Mars promising" in key_points.items[1]  # a link kept as plain text


def test_guardian_page_data_uses_block_ids_and_epoch_dates(read_fixture):
    snapshot = read_fixture(GUARDIAN_DCR)
    assert snapshot.url == GUARDIAN_URL
    assert all(re.fullmatch(r"[0-9a-f]{24}", e.id) for e in snapshot.entries)
    summary = snapshot.entries[-1]
    assert summary.id == "60300f5f8f08ad21ea60071e"
    assert summary.title == "Summary"
    assert format_utc(summary.published) == "2021-02-19T19:30:03Z"
    assert summary.text.startswith("That\u2019s it for our live coverage")


def test_guardian_page_data_without_summary_uses_key_event_titles(fixtures_dir):
    data = json.loads((fixtures_dir / GUARDIAN_DCR).read_text(encoding="utf-8"))
    for block in [*data["blocks"], *data["keyEvents"]]:
        block["attributes"]["summary"] = False
    key_points = extract(json.dumps(data).encode()).key_points
    assert key_points.kind is KeyPointsKind.KEY_EVENTS
    assert key_points.items == (
        "Summary",
        "New image of Perseverance shows rover being lowered to Mars surface",
        "Nasa scientists show new images of Perseverance rover after Mars landing",
        "Nasa to host Perseverance rover news conference",
    )


def test_guardian_json_ld_update_titles_equal_to_the_headline_are_null(read_fixture):
    snapshot = read_fixture(GUARDIAN_LD)
    assert snapshot.title.startswith("Nasa scientists release new images")
    assert all(e.title is None for e in snapshot.entries)


def test_guardian_json_ld_page_dates_on_every_update_are_null(read_fixture):
    entries = read_fixture(GUARDIAN_LD).entries
    assert all(e.published is None and e.updated is None for e in entries)


def test_guardian_json_ld_undated_updates_keep_reverse_page_order(fixtures_dir, read_fixture):
    page = json.loads((fixtures_dir / GUARDIAN_LD).read_text(encoding="utf-8"))
    page_ids = [u["@id"] for u in page[0]["liveBlogUpdate"]]
    assert [e.id for e in read_fixture(GUARDIAN_LD).entries] == page_ids[::-1]


def test_guardian_json_ld_empty_and_hashtag_bodies(read_fixture):
    texts = [e.text for e in read_fixture(GUARDIAN_LD).entries]
    assert texts.count("") == 1
    assert "#TBT" in texts
    assert "#FF" in texts


def test_guardian_json_ld_has_no_key_points_and_states_its_url(read_fixture):
    snapshot = read_fixture(GUARDIAN_LD)
    assert snapshot.key_points is None
    assert snapshot.url == GUARDIAN_URL
    assert snapshot.coverage_start == datetime(2021, 2, 19, 19, 41, 53, tzinfo=UTC)
