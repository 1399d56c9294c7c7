"""Extraction benchmark: CPU ms per fixture file, synthetic 500 KB page and 250 KB feed, and
the parser comparison behind our choices (selectolax vs lxml for HTML; our lxml feed reader vs
feedparser and fastfeedparser, on speed and on what each reads from the tricky fixtures)."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bench.common import FIXTURES, cpu_ms, table
from bot.sources.extract import extract, htmlpage
from bot.sources.extract.nesting import limit_nesting
from bot.sources.summary import extracted_key_points

_TEXT = (
    "council river bridge crews power homes schools vote budget road ferry storm "
    "water engineers residents mayor report minister police hospital station market harbour"
)
_WORDS = _TEXT.split()


def _sentence(i: int) -> str:
    words = [_WORDS[(i * 7 + k * 3) % len(_WORDS)] for k in range(14)]
    return " ".join(words).capitalize() + "."


def synthetic_live_page(target: int = 500_000) -> bytes:
    """A live page shaped like the real ones: JSON-LD updates, the same updates in the DOM,
    a summary box, and page furniture; about `target` bytes."""
    start = datetime(2024, 5, 1, 6, tzinfo=UTC)
    updates, posts = [], []
    i = 0
    size = 0
    while size < target:
        published = (start + timedelta(minutes=i)).isoformat()
        body = "\n".join(_sentence(i * 5 + k) for k in range(5))
        updates.append(
            {
                "@type": "BlogPosting",
                "headline": f"Update number {i} &#39;quoted&#39;",
                "url": f"https://live.example/story#post-{i}",
                "datePublished": published,
                "articleBody": body,
            }
        )
        paragraphs = "".join(f"<p>{_sentence(i * 5 + k)}</p>" for k in range(5))
        posts.append(
            f'<div class="post" id="post-{i}"><time datetime="{published}">{i}</time>'
            f'<h3>Update number {i}</h3><div class="body">{paragraphs}'
            f'<a href="/share/{i}">Share</a></div></div>'
        )
        size += len(body) * 2 + 400
        i += 1
    blog = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "headline": "Synthetic live story",
        "url": "https://live.example/story",
        "liveBlogUpdate": updates[::-1],
    }
    furniture = "".join(f'<li><a href="/n/{k}">Section {k}</a></li>' for k in range(200))
    html = (
        "<!doctype html><html><head><title>Synthetic live story</title>"
        f'<script type="application/ld+json">{json.dumps(blog)}</script></head><body>'
        f"<nav><ul>{furniture}</ul></nav><h1>Synthetic live story</h1>"
        "<h2>Here\u2019s what to know</h2><ul><li>First point.</li><li>Second point.</li></ul>"
        f"{''.join(posts[::-1])}<footer><ul>{furniture}</ul></footer></body></html>"
    )
    return html.encode()


def synthetic_feed(items: int = 200, target: int = 250_000) -> bytes:
    """An RSS 2.0 feed of `items` items, about `target` bytes, HTML in the descriptions."""
    start = datetime(2024, 5, 1, tzinfo=UTC)
    per_item = target // items
    parts = []
    for i in range(items):
        paragraphs = []
        while sum(len(p) for p in paragraphs) < per_item - 400:
            paragraphs.append(f"&lt;p&gt;{_sentence(i + len(paragraphs))}&lt;/p&gt;")
        parts.append(
            f"<item><title>Item {i} &amp; more</title><link>https://feed.example/{i}</link>"
            f"<guid>https://feed.example/{i}</guid>"
            f"<pubDate>{format_datetime(start + timedelta(minutes=i))}</pubDate>"
            f"<description>{''.join(paragraphs)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Synthetic feed</title><link>https://feed.example/</link>{''.join(parts[::-1])}"
        "</channel></rss>"
    ).encode()


def _optional(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _fixture_rows() -> list[list[object]]:
    rows = []
    files = sorted(p for p in FIXTURES.glob("*/*") if p.suffix != ".txt" and p.is_file())
    for path in sorted(files, key=lambda p: -p.stat().st_size):
        body = path.read_bytes()
        snapshot = extract(body)
        rows.append(
            [
                f"{path.parent.name}/{path.name}",
                f"{len(body) / 1024:.0f}",
                len(snapshot.entries),
                f"{cpu_ms(lambda b=body: extract(b), repeat=15):.2f}",
            ]
        )
    return rows


def _feed_parsers() -> dict[str, object]:
    parsers: dict[str, object] = {"bulletin (lxml, recover)": lambda b: len(extract(b).entries)}
    feedparser = _optional("feedparser")
    if feedparser is not None:
        parsers["feedparser"] = lambda b: len(feedparser.parse(b).entries)
    fastfeedparser = _optional("fastfeedparser")
    if fastfeedparser is not None:

        def fast(body: bytes) -> int | str:
            try:
                return len(fastfeedparser.parse(body).entries)
            except Exception as error:  # it raises on some ill-formed feeds: say which
                return f"error: {type(error).__name__}"

        parsers["fastfeedparser"] = fast
    return parsers


def run() -> None:
    print("## Extraction\n")
    if FIXTURES.is_dir():
        print("CPU ms per call (median of 15), every fixture file, largest first:\n")
        print(table(["file", "KB", "entries", "ms"], _fixture_rows()))
        print()
    page = synthetic_live_page()
    feed = synthetic_feed()
    page_snapshot = extract(page)
    rows = [
        [
            "synthetic live page",
            f"{len(page) / 1024:.0f}",
            len(page_snapshot.entries),
            f"{cpu_ms(lambda: extract(page), repeat=15):.2f}",
        ],
        [
            "synthetic RSS feed",
            f"{len(feed) / 1024:.0f}",
            len(extract(feed).entries),
            f"{cpu_ms(lambda: extract(feed), repeat=15):.2f}",
        ],
        [
            "extracted summary (20 newest updates of the page above)",
            "",
            len(extracted_key_points(page_snapshot.entries).items),
            f"{cpu_ms(lambda: extracted_key_points(page_snapshot.entries), repeat=15):.2f}",
        ],
    ]
    print("Synthetic inputs (aim: <= 5 ms each for the page and the feed):\n")
    print(table(["input", "KB", "entries / items", "ms"], rows))

    print("\n### What the nesting bound costs on the synthetic page\n")
    bound_rows = [["the bound alone (limit_nesting)", f"{cpu_ms(lambda: limit_nesting(page)):.2f}"]]
    try:  # for comparison only: the page read without its defence against deep nesting
        htmlpage.limit_nesting = lambda markup, limit=0: markup
        bound_rows.append(["extraction without the bound", f"{cpu_ms(lambda: extract(page)):.2f}"])
    finally:
        htmlpage.limit_nesting = limit_nesting
    print(table(["", "ms"], bound_rows))

    print("\n### HTML parser: parse the synthetic page\n")
    from lxml import html as lxml_html
    from selectolax.lexbor import LexborHTMLParser

    html_rows = [
        ["selectolax (lexbor)", f"{cpu_ms(lambda: LexborHTMLParser(page), repeat=15):.2f}"],
        ["lxml.html", f"{cpu_ms(lambda: lxml_html.fromstring(page), repeat=15):.2f}"],
    ]
    bs4 = _optional("bs4")
    if bs4 is not None:
        html_rows.append(
            [
                "BeautifulSoup (html.parser)",
                f"{cpu_ms(lambda: bs4.BeautifulSoup(page, 'html.parser'), repeat=5):.2f}",
            ]
        )
    print(table(["parser", "ms"], html_rows))

    print("\n### Feed readers: speed on the synthetic feed, items read from tricky fixtures\n")
    parsers = _feed_parsers()
    tricky = [
        "feedrs__jsonfeed_elastic_1.1.json",
        "feedparser__rss_incomplete_cdata.xml",
        "feedparser__rss_item_link_corrupted_ampersands.xml",
        "feedparser__undeclared_namespace.xml",
        "feedrs__rss_2.0_ilmessaggero.xml",
    ]
    headers = ["reader", "synthetic feed ms"] + [name.split("__")[1] for name in tricky]
    feed_rows = []
    for name, parse in parsers.items():
        row: list[object] = [name, f"{cpu_ms(lambda p=parse: p(feed), repeat=7, warmup=1):.2f}"]
        for fixture in tricky:
            path = FIXTURES / "feeds" / fixture
            row.append(parse(path.read_bytes()) if path.exists() else "-")
        feed_rows.append(row)
    print(table(headers, feed_rows))
    print("\n(expected items: 3, 1, 1, 0, 1; a reader missing from the table is not installed)")


if __name__ == "__main__":
    run()
