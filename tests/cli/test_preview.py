"""`bulletin preview` as a user runs it: a subprocess, on files and on a local HTTP server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli.preview import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENTRY_KEYS = {"id", "title", "text", "url", "published", "updated"}

FEED_LINK = b"<link>https://feed.example/</link>"
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Local feed</title>
<link>https://feed.example/</link>
<item><guid>a</guid><title>First</title><pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate></item>
</channel></rss>"""
NOT_NEWS = b"<html><head><title>Opening hours</title></head><body><p>9 to 5</p></body></html>"
BOX_PAGE = b"""<html><head><title>Box</title></head><body>
<div class="points"><p>In short</p><ul><li>One thing</li><li>Another</li></ul></div>
<article class="u" id="u1"><h3>Only update</h3><p>Some text.</p></article></body></html>"""


def bulletin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "preview", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_json_shape_of_a_live_page(fixtures_dir):
    result = bulletin(
        str(fixtures_dir / "liveblog/express_2024-07-18_harry-meghan-live.html"), "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"title", "url", "kind", "entries", "key_points"}
    assert data["kind"] == "liveblog"
    assert len(data["entries"]) == 9
    assert all(set(e) == ENTRY_KEYS for e in data["entries"])
    assert data["entries"][-1]["published"] == "2024-07-18T10:48:00Z"
    # no box of its own: preview shows an extracted summary, labelled as such
    assert data["key_points"]["kind"] == "extracted"
    assert 1 <= len(data["key_points"]["items"]) <= 5


def test_json_key_points_of_a_page_with_a_box(fixtures_dir):
    result = bulletin(
        str(fixtures_dir / "liveblog/guardian_2021-02-19_mars-landing.dcr.json"), "--json"
    )
    data = json.loads(result.stdout)
    assert data["key_points"]["kind"] == "summary"
    assert len(data["key_points"]["items"]) == 10


def test_local_file_stating_no_url_has_a_null_url(tmp_path):
    page = tmp_path / "box.html"
    page.write_bytes(b"<html><body><h2>What we know</h2><ul><li>A fact</li></ul></body></html>")
    result = bulletin(str(page), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "title": None,
        "url": None,
        "kind": "page",
        "entries": [],
        "key_points": {"kind": "summary", "items": ["A fact"]},
    }


def test_feed_with_no_items_prints_an_empty_list(fixtures_dir):
    result = bulletin(str(fixtures_dir / "feeds/feedparser__undeclared_namespace.xml"), "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["kind"] == "feed"
    assert data["entries"] == []
    assert data["key_points"] is None


def test_readable_output_without_json(fixtures_dir):
    result = bulletin(str(fixtures_dir / "liveblog/corkbeo_2020-10-06_level3-live.html"))
    assert result.returncode == 0
    assert result.stdout.startswith("Level 3 LIVE from Cork")
    assert "26 entries" in result.stdout
    assert "Key events (the source's list):" in result.stdout
    assert "[2020-10-06T20:22:53Z] Goodnight" in result.stdout


def test_non_news_page_exits_2_with_one_line(tmp_path):
    page = tmp_path / "hours.html"
    page.write_bytes(NOT_NEWS)
    assert_one_line_error(bulletin(str(page)), "'Opening hours'")


def test_missing_file_exits_2_with_one_line(tmp_path):
    assert_one_line_error(bulletin(str(tmp_path / "nope.html")), "no such file")


def test_unreadable_file_exits_2_with_one_line(tmp_path):
    assert_one_line_error(bulletin(str(tmp_path)), "is a directory")


def test_binary_file_exits_2_with_one_line(tmp_path):
    blob = tmp_path / "image.png"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert_one_line_error(bulletin(str(blob)), "binary")


def test_empty_file_exits_2_with_one_line(tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    assert_one_line_error(bulletin(str(empty)), "the document is empty")


def test_file_over_the_source_size_cap_exits_2_without_being_read_whole(tmp_path):
    huge = tmp_path / "huge.html"
    with huge.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: no time spent writing it
    assert_one_line_error(bulletin(str(huge)), f"larger than {MAX_FILE_BYTES:,} bytes")


def test_file_at_the_size_cap_is_read(tmp_path):
    page = tmp_path / "padded.html"
    head = b"<html><body><h2>What to know</h2><ul><li>One thing</li></ul>"
    tail = b"</body></html>"
    page.write_bytes(head + b" " * (MAX_FILE_BYTES - len(head) - len(tail)) + tail)
    assert page.stat().st_size == MAX_FILE_BYTES
    result = bulletin(str(page), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["key_points"]["items"] == ["One thing"]


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://files.example/feed.xml", "only http(s) URLs and local files"),
        ("http://", "URL has no host"),
        ("http://[::1", "not a valid URL"),
        ("http://news..example/live", "not a valid host name: 'news..example'"),
        (f"http://{'a' * 64}.example/", "not a valid host name"),
    ],
    ids=["ftp", "no host", "broken literal", "empty label", "label over 63"],
)
def test_url_that_cannot_be_fetched_exits_2_before_any_network(url, fragment):
    assert_one_line_error(bulletin(url, "--allow-private-addresses"), fragment)


def test_kind_forces_a_page(tmp_path):
    page = tmp_path / "box.html"
    page.write_bytes(BOX_PAGE)
    selectors = tmp_path / "s.toml"
    selectors.write_text('entry = "article.u"\ntitle = "h3"\nkey_points = ".points ul"\n')
    result = bulletin(str(page), "--json", "--kind", "page", "--selectors", str(selectors))
    data = json.loads(result.stdout)
    assert data["kind"] == "page"
    assert data["entries"] == []
    assert data["key_points"] == {"kind": "summary", "items": ["One thing", "Another"]}


def test_kind_that_does_not_fit_exits_2(fixtures_dir):
    result = bulletin(str(fixtures_dir / "feeds/rssparser__heise.atom"), "--kind", "liveblog")
    assert_one_line_error(result, "asked for a liveblog")


def test_selectors_file_reads_entries(tmp_path):
    page = tmp_path / "box.html"
    page.write_bytes(BOX_PAGE)
    selectors = tmp_path / "s.toml"
    selectors.write_text('[selectors]\nentry = "article.u"\ntitle = "h3"\n')
    data = json.loads(bulletin(str(page), "--json", "--selectors", str(selectors)).stdout)
    assert data["kind"] == "liveblog"
    assert [(e["id"], e["title"]) for e in data["entries"]] == [("u1", "Only update")]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [('entries = "x"\n', "unknown selector key 'entries'"), ("entry = [\n", "not valid TOML")],
)
def test_bad_selectors_file_exits_2_naming_the_problem(tmp_path, content, fragment):
    page = tmp_path / "box.html"
    page.write_bytes(BOX_PAGE)
    selectors = tmp_path / "s.toml"
    selectors.write_text(content)
    assert_one_line_error(bulletin(str(page), "--selectors", str(selectors)), fragment)


@pytest.fixture
async def local_server():
    async def feed(_: web.Request) -> web.Response:
        return web.Response(body=FEED, content_type="application/rss+xml")

    async def bare_feed(_: web.Request) -> web.Response:
        return web.Response(body=FEED.replace(FEED_LINK, b""), content_type="text/xml")

    async def missing(_: web.Request) -> web.Response:
        return web.Response(status=404, text="gone")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    app.router.add_get("/bare.xml", bare_feed)
    app.router.add_get("/missing", missing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def run_async(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "preview", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=ENV, cwd=ROOT,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_url_preview_against_a_local_server(local_server):
    code, stdout, stderr = await run_async(
        f"{local_server}/feed.xml", "--json", "--allow-private-addresses"
    )
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["kind"] == "feed"
    assert data["url"] == "https://feed.example/"
    assert [e["id"] for e in data["entries"]] == ["a"]


async def test_url_of_a_document_stating_none_is_the_source(local_server):
    source = f"{local_server}/bare.xml"
    code, stdout, stderr = await run_async(source, "--json", "--allow-private-addresses")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["url"] == source
    assert [e["id"] for e in data["entries"]] == ["a"]


async def test_loopback_url_is_refused_without_the_flag(local_server):
    code, stdout, stderr = await run_async(f"{local_server}/feed.xml")
    assert (code, stdout) == (2, "")
    lines = stderr.strip().splitlines()
    assert len(lines) == 1
    assert "127.0.0.1" in lines[0]
    assert "refused" in lines[0]
    assert "--allow-private-addresses" in lines[0]  # the way out, named


async def test_url_answering_404_exits_2(local_server):
    code, stdout, stderr = await run_async(f"{local_server}/missing", "--allow-private-addresses")
    assert stdout == ""
    assert code == 2
    assert stderr.strip().splitlines() == [
        f"bulletin preview: HTTP 404 from {local_server}/missing"
    ]
