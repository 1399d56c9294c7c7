import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from bot.demo import DEMO_STEP_INTERVAL, DEMO_STEPS, demo_page, demo_step_at
from bot.demo.story import EDIT_STEP, KEY_POINTS_STEP, UPDATES

START = datetime(2026, 5, 2, 13, 0, tzinfo=UTC)
VOID = {"meta", "link", "br", "img", "input", "hr"}


class PageReader(HTMLParser):
    """Checks that tags nest properly; collects JSON-LD and the key-points box."""

    def __init__(self):
        super().__init__()
        self.stack = []
        self.errors = []
        self.json_ld = []
        self.in_json = False
        self.heading = None
        self.h2_texts = []
        self.key_points = []
        self.in_key_points = False
        self.in_li = False
        self.in_h2 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "script" and attrs.get("type") == "application/ld+json":
            self.in_json = True
        if tag == "section" and "key-points" in (attrs.get("class") or ""):
            self.in_key_points = True
        self.in_li = tag == "li" and self.in_key_points
        self.in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> in {self.stack}")
            return
        self.stack.pop()
        if tag == "script":
            self.in_json = False
        if tag == "section":
            self.in_key_points = False
        if tag in ("li", "h2"):
            self.in_li = self.in_h2 = False

    def handle_data(self, data):
        if self.in_json:
            self.json_ld.append(json.loads(data))
        elif self.in_li:
            self.key_points.append(data.strip())
        elif self.in_h2 and self.in_key_points:
            self.h2_texts.append(data.strip())


def read(step):
    reader = PageReader()
    reader.feed(demo_page(step, start=START).decode("utf-8"))
    reader.close()
    return reader


def blog(step):
    (posting,) = [d for d in read(step).json_ld if d["@type"] == "LiveBlogPosting"]
    return posting


def updates(step):
    return blog(step)["liveBlogUpdate"]


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("step", range(DEMO_STEPS))
def test_every_step_is_well_formed_html(step):
    reader = read(step)
    assert reader.errors == []
    assert reader.stack == []


@pytest.mark.parametrize("step", range(DEMO_STEPS))
def test_every_step_has_a_live_blog_posting_with_updates(step):
    posting = blog(step)
    assert posting["@context"] == "https://schema.org"
    assert posting["headline"]
    for update in posting["liveBlogUpdate"]:
        assert update["@type"] == "BlogPosting"
        assert update["headline"] and update["articleBody"]
        assert update["@id"].startswith(posting["url"] + "#")
        assert parse_time(update["datePublished"]).tzinfo is not None


@pytest.mark.parametrize("step", range(DEMO_STEPS))
def test_updates_are_listed_newest_first(step):
    times = [parse_time(u["datePublished"]) for u in updates(step)]
    assert times == sorted(times, reverse=True)


def test_the_demo_runs_eight_to_ten_steps():
    assert 8 <= DEMO_STEPS - 1 <= 10


def test_the_page_grows_by_one_update_a_step_except_at_the_edit():
    counts = [len(updates(step)) for step in range(DEMO_STEPS)]
    growth = [after - before for before, after in itertools.pairwise(counts)]
    expected = [0 if step == EDIT_STEP else 1 for step in range(1, DEMO_STEPS)]
    assert counts[0] >= 3
    assert growth == expected


def test_update_ids_are_unique_and_stable_across_steps():
    seen = {}
    for step in range(DEMO_STEPS):
        ids = [u["@id"] for u in updates(step)]
        assert len(ids) == len(set(ids))
        for update in updates(step):
            seen.setdefault(update["@id"], update["datePublished"])
            assert seen[update["@id"]] == update["datePublished"]


def test_exactly_one_update_is_edited_once():
    bodies = {}
    edits = []
    for step in range(DEMO_STEPS):
        for update in updates(step):
            before = bodies.setdefault(update["@id"], update["articleBody"])
            if before != update["articleBody"]:
                edits.append((step, update))
                bodies[update["@id"]] = update["articleBody"]
    assert [step for step, _ in edits] == [EDIT_STEP]
    ((_, edited),) = edits
    assert parse_time(edited["dateModified"]) > parse_time(edited["datePublished"])


def test_the_key_points_box_is_a_heres_what_to_know_list():
    reader = read(0)
    assert reader.h2_texts == ["Here’s what to know"]
    assert len(reader.key_points) >= 3


def test_the_key_points_change_exactly_once():
    versions = [tuple(read(step).key_points) for step in range(DEMO_STEPS)]
    changes = [i for i in range(1, DEMO_STEPS) if versions[i] != versions[i - 1]]
    assert changes == [KEY_POINTS_STEP]


def test_no_update_is_dated_after_the_step_it_appears_at():
    for step in range(DEMO_STEPS):
        now = START + step * DEMO_STEP_INTERVAL
        for update in updates(step):
            assert parse_time(update["dateModified"]) <= now


def test_the_page_is_the_same_for_the_same_step_and_start():
    assert demo_page(3, start=START) == demo_page(3, start=START)


def test_steps_past_the_end_show_the_last_page():
    assert demo_page(DEMO_STEPS + 5, start=START) == demo_page(DEMO_STEPS - 1, start=START)


@pytest.mark.parametrize(
    ("step", "start", "message"),
    [(-1, START, "0 or more"), (0, datetime(2026, 5, 2, 13, 0), "timezone-aware")],
)
def test_bad_arguments_give_a_clear_error(step, start, message):
    with pytest.raises(ValueError, match=message):
        demo_page(step, start=start)


def test_page_furniture_is_present_but_outside_the_updates():
    html = demo_page(DEMO_STEPS - 1, start=START).decode()
    assert "<nav>" in html and 'class="related"' in html and "site-footer" in html


def test_script_content_cannot_close_the_script_element():
    html = demo_page(DEMO_STEPS - 1, start=START).decode()
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S)
    assert all("<" not in script for script in scripts)


@pytest.mark.parametrize(
    ("seconds", "step"),
    [(-5, 0), (0, 0), (5.9, 0), (6, 1), (6 * 4 + 1, 4), (10_000, DEMO_STEPS - 1)],
)
def test_demo_step_at_follows_the_clock(seconds, step):
    assert demo_step_at(START + timedelta(seconds=seconds), start=START) == step


def shingles(text, size=6):
    words = re.findall(r"[a-z0-9’']+", text.lower())
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def test_the_demo_story_copies_no_fixture_text(fixtures_dir):
    ours = set()
    for update in UPDATES:
        ours |= shingles(update.headline + " " + update.body)
    for path in [
        *fixtures_dir.joinpath("liveblog").iterdir(),
        *fixtures_dir.joinpath("seed").iterdir(),
    ]:
        theirs = shingles(path.read_text(encoding="utf-8", errors="replace"))
        assert not ours & theirs, path.name
