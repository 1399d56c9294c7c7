"""`bulletin replay` on the shared fixture pages, transformed poll by poll in tmp_path.

The fixtures are read in place; each test writes its own variants (windows shrunk and regrown,
edited bodies, whitespace and entity spelling, key points changed, a feed broken for a poll).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.preview import MAX_FILE_BYTES

EXPRESS = "liveblog/express_2024-07-18_harry-meghan-live.html"
CORKBEO = "liveblog/corkbeo_2020-10-06_level3-live.html"
GUARDIAN_LD = "liveblog/guardian_2021-02-19_mars-landing.jsonld.json"
HEISE = "feeds/rssparser__heise.atom"
ENTRY_KEYS = {"id", "title", "text", "url", "published", "updated"}
LINE_KEYS = {
    "new": {"poll", "type", "entry"},
    "edited": {"poll", "type", "entry"},
    "key_points": {"poll", "type", "added", "removed", "items"},
    "error": {"poll", "type", "message"},
}


def assert_documented_shape(lines: list[dict]) -> None:
    """Every JSON line has exactly the keys the README and the issue give for its type."""
    for line in lines:
        assert set(line) == LINE_KEYS[line["type"]], line
        assert isinstance(line["poll"], int)
        if "entry" in line:
            assert set(line["entry"]) == ENTRY_KEYS


_LD_SCRIPT = re.compile(rb"(<script[^>]*ld\+json[^>]*>)(.*?)(</script>)", re.S)


def with_liveblog(page: bytes, change: Callable[[dict], None]) -> bytes:
    """The page with its LiveBlogPosting JSON-LD block rewritten by `change`."""

    def rewrite(match: re.Match[bytes]) -> bytes:
        data = json.loads(match.group(2))
        if not (isinstance(data, dict) and data.get("@type") == "LiveBlogPosting"):
            return match.group(0)
        change(data)
        return match.group(1) + json.dumps(data).encode() + match.group(3)

    return _LD_SCRIPT.sub(rewrite, page)


def keep_updates(selector: slice) -> Callable[[dict], None]:
    def change(blog: dict) -> None:
        blog["liveBlogUpdate"] = blog["liveBlogUpdate"][selector]

    return change


class Polls:
    """Writes numbered snapshot files into a folder and replays them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths: list[str] = []

    def add(self, body: bytes, suffix: str = ".html") -> None:
        path = self.folder / f"poll{len(self.paths)}{suffix}"
        path.write_bytes(body)
        self.paths.append(str(path))

    def run(self, capsys: pytest.CaptureFixture[str]) -> list[dict]:
        assert main(["replay", "--json", *self.paths]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert_documented_shape(lines)
        return lines


@pytest.fixture
def polls(tmp_path: Path) -> Polls:
    return Polls(tmp_path)


def of_type(lines: list[dict], kind: str) -> list[dict]:
    return [line for line in lines if line["type"] == kind]


def test_window_shrunk_and_regrown_announces_each_update_once(fixtures_dir, polls, capsys):
    page = (fixtures_dir / EXPRESS).read_bytes()
    # updates are listed newest first: poll 0 sees the 5 oldest, then all, then only the
    # newest 3, then all again
    polls.add(with_liveblog(page, keep_updates(slice(4, None))))
    polls.add(page)
    polls.add(with_liveblog(page, keep_updates(slice(0, 3))))
    polls.add(page)
    lines = polls.run(capsys)
    assert [(line["poll"], line["type"]) for line in lines] == [(1, "new")] * 4
    published = [line["entry"]["published"] for line in lines]
    assert published == sorted(published)
    assert all(set(line["entry"]) == ENTRY_KEYS for line in lines)


def test_reordered_page_announces_nothing(fixtures_dir, polls, capsys):
    page = (fixtures_dir / EXPRESS).read_bytes()
    polls.add(page)
    polls.add(with_liveblog(page, keep_updates(slice(None, None, -1))))
    assert polls.run(capsys) == []


def test_edited_body_is_one_edit(fixtures_dir, polls, capsys):
    page = (fixtures_dir / EXPRESS).read_bytes()

    def edit(blog: dict) -> None:
        blog["liveBlogUpdate"][2]["articleBody"] += " A correction was added later."

    polls.add(page)
    polls.add(with_liveblog(page, edit))
    (line,) = polls.run(capsys)
    assert (line["poll"], line["type"]) == (1, "edited")
    assert line["entry"]["text"].endswith("A correction was added later.")


@pytest.mark.parametrize(
    "respell",
    [
        lambda body: body.replace(" ", "  ").replace(". ", ".\n\n "),
        lambda body: body.replace("&#39;", "'").replace("&#34;", "&quot;"),
        lambda body: f"<div><p>{body.replace(' ', ' <span></span>', 3)}</p></div>",
    ],
    ids=["whitespace", "entity-spelling", "markup"],
)
def test_cosmetic_respelling_of_every_body_is_no_change(fixtures_dir, polls, capsys, respell):
    page = (fixtures_dir / EXPRESS).read_bytes()

    def change(blog: dict) -> None:
        for update in blog["liveBlogUpdate"]:
            update["articleBody"] = respell(update["articleBody"])
            update["headline"] = respell(update["headline"])

    polls.add(page)
    polls.add(with_liveblog(page, change))
    assert polls.run(capsys) == []


def test_key_point_changes_list_what_was_added_and_removed(fixtures_dir, polls, capsys):
    page = (fixtures_dir / CORKBEO).read_bytes()
    original = b"Coronavirus Ireland: One death and 432 new cases"
    assert original in page
    extra = b'<li><div class="key-bubble"><a data-id="1">Schools to stay open</a></div></li>'
    grown = page.replace(
        b'<ul><li><div class="key-bubble">', b"<ul>" + extra + b'<li><div class="key-bubble">', 1
    )
    replaced = page.replace(original, b"Cases fall for a third day")
    polls.add(page)
    polls.add(grown)
    polls.add(grown)
    polls.add(replaced)
    lines = of_type(polls.run(capsys), "key_points")
    assert [(line["poll"], line["added"], line["removed"]) for line in lines] == [
        (0, [original.decode()], []),
        (1, ["Schools to stay open"], []),
        (3, ["Cases fall for a third day"], ["Schools to stay open", original.decode()]),
    ]
    assert lines[-1]["items"] == ["Cases fall for a third day"]


def test_one_poll_lists_edits_then_new_oldest_first_then_key_points(fixtures_dir, polls, capsys):
    page = (fixtures_dir / CORKBEO).read_bytes()
    grown_box = page.replace(
        b'<ul><li><div class="key-bubble">',
        b'<ul><li><div class="key-bubble"><a data-id="9">Schools to stay open</a></div></li>'
        b'<li><div class="key-bubble">',
        1,
    )

    def two_new_and_an_edit(blog: dict) -> None:
        updates = blog["liveBlogUpdate"]  # newest first
        updates[5]["articleBody"] = "Corrected: the figures were revised."
        del updates[0:2]

    polls.add(with_liveblog(page, two_new_and_an_edit))
    polls.add(with_liveblog(grown_box, lambda blog: None))
    lines = polls.run(capsys)
    assert [(line["poll"], line["type"]) for line in lines] == [
        (0, "key_points"),
        (1, "edited"),
        (1, "new"),
        (1, "new"),
        (1, "key_points"),
    ]
    edited, older, newer, key_points = lines[1:]
    assert edited["entry"]["text"] != "Corrected: the figures were revised."  # back as it was
    assert older["entry"]["published"] <= newer["entry"]["published"]
    assert newer["entry"]["title"] == "Goodnight"
    assert key_points["added"] == ["Schools to stay open"]


def test_file_over_the_size_cap_is_an_error_poll(fixtures_dir, polls, capsys, tmp_path):
    page = (fixtures_dir / EXPRESS).read_bytes()
    polls.add(with_liveblog(page, keep_updates(slice(1, None))))
    huge = tmp_path / "huge.html"
    with huge.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)
    polls.paths.append(str(huge))
    polls.add(page)
    lines = polls.run(capsys)
    assert [(line["poll"], line["type"]) for line in lines] == [(1, "error"), (2, "new")]
    assert f"larger than {MAX_FILE_BYTES:,} bytes" in lines[0]["message"]


def test_feed_that_breaks_for_a_poll_loses_nothing(fixtures_dir, polls, capsys):
    feed = (fixtures_dir / HEISE).read_bytes()
    entries = list(re.finditer(rb"<entry>.*?</entry>\s*", feed, re.S))
    assert len(entries) == 15
    # the feed lists newest first: the first poll misses the two newest items
    without_newest = feed[: entries[0].start()] + feed[entries[2].start() :]
    polls.add(without_newest, ".atom")
    polls.add(b"<html><head><title>502 Bad Gateway</title></head><body></body></html>")
    polls.add(feed, ".atom")
    lines = polls.run(capsys)
    assert [(line["poll"], line["type"]) for line in lines] == [
        (1, "error"),
        (2, "new"),
        (2, "new"),
    ]
    assert "502 Bad Gateway" in lines[0]["message"]


def test_json_ld_alone_grows_oldest_first(fixtures_dir, polls, capsys):
    blog = json.loads((fixtures_dir / GUARDIAN_LD).read_text(encoding="utf-8"))
    full = json.dumps(blog).encode()
    blog[0]["liveBlogUpdate"] = blog[0]["liveBlogUpdate"][5:]
    polls.add(json.dumps(blog).encode(), ".json")
    polls.add(full, ".json")
    lines = polls.run(capsys)
    assert [line["type"] for line in lines] == ["new"] * 5
    assert len({line["entry"]["id"] for line in lines}) == 5


def test_unreadable_file_is_an_error_poll_and_the_run_goes_on(
    fixtures_dir, polls, capsys, tmp_path
):
    page = (fixtures_dir / EXPRESS).read_bytes()
    polls.add(with_liveblog(page, keep_updates(slice(1, None))))
    polls.paths.append(str(tmp_path))  # a directory cannot be read as a file
    polls.add(b"")
    polls.add(page)
    lines = polls.run(capsys)
    assert [(line["poll"], line["type"]) for line in lines] == [
        (1, "error"),
        (2, "error"),
        (3, "new"),
    ]


def test_missing_file_is_exit_2_with_one_line(fixtures_dir, capsys, tmp_path):
    code = main(["replay", str(fixtures_dir / EXPRESS), str(tmp_path / "absent.html")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        f"bulletin replay: {tmp_path / 'absent.html'}: no such file"
    ]


def test_readable_listing_names_the_baseline_and_the_changes(fixtures_dir, polls, capsys):
    page = (fixtures_dir / CORKBEO).read_bytes()

    def drop_newest(blog: dict) -> None:
        blog["liveBlogUpdate"] = blog["liveBlogUpdate"][1:]

    polls.add(with_liveblog(page, drop_newest))
    polls.add(page)
    assert main(["replay", *polls.paths]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "poll 0 (poll0.html): baseline: 25 entries stored, none posted"
    assert out[1].startswith("  key points (key_events, 1 now):")
    assert out[3] == "poll 1 (poll1.html): 1 change"
    assert out[4].startswith("  new     2020-10-06T20:22:53Z")
