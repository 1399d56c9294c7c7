"""Injection from a source, end to end: page bytes → extract → diff → render → payload.

Whatever a source writes in its titles, texts and links, the payload posted to Discord renders
it literally, mentions no one, links only to http(s) and stays within Discord's limits.
"""

from __future__ import annotations

import json

import pytest

from bot.delivery.render import RenderContext, render_correction
from bot.diff import SourceState, StoredEntry, plan
from bot.model import EditedEntry, Snapshot
from bot.sources.extract import extract
from bot.text import content_hash
from tests.hardening.payloads import assert_safe, render_change

ROLE = 987654321012345678

HOSTILE = [
    "@everyone the bridge is closed",
    "@here look",
    "ping <@&123456789012345678> and <@123456789012345678> and <@!42> in <#555>",
    "[click me](javascript:alert(document.cookie))",
    "[official statement](https://evil.example/phish) **bold** __under__ ||spoiler||",
    "[x](javascript:void(0)) `code` ~~strike~~ > quote",
    "# heading\n- list item\n1. numbered",
    "zero\u200bwidth\u200c joiners\u200d and \u202eright-to-left\u202c \u2067isolate\u2069",
    "</latest:123456789> <t:1700000000:R> <:emoji:123> <a:anim:456>",
    "https://news.example/@everyone/[x](javascript:alert(1))",
    "\x1b[2Jterminal escape \x07 bell",
]

HTML_TITLES = [
    "<b>Bold</b> <script>alert(1)</script> headline",
    "&lt;script&gt;alert(1)&lt;/script&gt; escaped twice",
    '<img src=x onerror="alert(1)">image title',
    "<a href='javascript:alert(1)'>@everyone link</a>",
]


def page(updates: list[dict[str, object]]) -> bytes:
    blog = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "headline": "Storm <@&1> live @everyone",
        "url": "https://news.example/storm",
        "liveBlogUpdate": updates,
    }
    data = json.dumps(blog).replace("</", "<\\/")  # as pages do, so no "</script>" ends it
    return f'<html><script type="application/ld+json">{data}</script></html>'.encode()


def hostile_update(number: int, headline: str, body: str, url: str) -> dict[str, object]:
    return {
        "@id": f"u{number}",
        "headline": headline,
        "articleBody": body,
        "url": url,
        "image": "javascript:alert(1)",
        "datePublished": f"2025-03-01T10:{number % 60:02d}:00Z",
    }


def updates_of(texts: list[str]) -> list[dict[str, object]]:
    urls = ["javascript:alert(1)", "https://news.example/storm#x", "data:text/html,hi", "//evil"]
    return [
        hostile_update(n, texts[n], texts[-1 - n] * 3, urls[n % len(urls)])
        for n in range(len(texts))
    ]


def stored(snapshot: Snapshot) -> SourceState:
    return SourceState(
        baseline_taken=True,
        entries={
            e.id: StoredEntry(content_hash(e.title, e.text), 0, e.title, e.text)
            for e in snapshot.entries
        },
    )


def changes_of(texts: list[str]) -> tuple:
    snapshot = extract(page(updates_of(texts)))
    assert len(snapshot.entries) == len(texts)
    return plan(SourceState(baseline_taken=True), snapshot).changes


CTX = RenderContext(
    story_name="Storm @everyone <@&1> [x](javascript:alert(1))",
    source_name="News <@123> @here",
    source_url="javascript:alert(1)",
    role_id=ROLE,
)


@pytest.mark.parametrize("ping", [False, True])
def test_injection_in_updates_renders_harmlessly(ping):
    changes = changes_of(HOSTILE)
    assert len(changes) == len(HOSTILE)
    for change in changes:
        assert_safe(render_change(change, CTX, ping=ping), role_id=ROLE if ping else None)


def test_html_in_titles_is_read_as_text():
    changes = changes_of(HTML_TITLES)
    titles = [change.entry.title for change in changes]
    assert titles == [
        "Bold headline",
        "<script>alert(1)</script> escaped twice",  # the source's literal words
        "image title",
        "@everyone link",
    ]
    for change in changes:
        assert_safe(render_change(change, CTX))


def test_edits_carrying_injection_render_harmlessly():
    first = extract(page(updates_of(["calm"] * len(HOSTILE))))
    second = extract(page(updates_of(HOSTILE)))
    changes = plan(stored(first), second).changes
    edits = [change for change in changes if isinstance(change, EditedEntry)]
    assert len(edits) == len(HOSTILE)
    for edit in edits:
        assert_safe(render_change(edit, CTX))
        assert_safe(render_correction(edit, CTX, original_message_url="javascript:alert(1)"))


def test_five_thousand_character_titles_fit_discord():
    changes = changes_of(["@everyone " * 500, "x" * 5000, "\u202e" * 5000 + "end"])
    for change in changes:
        payload = render_change(change, CTX)
        assert_safe(payload)


def test_key_points_from_a_page_render_harmlessly():
    items = "".join(f"<li>{text}</li>" for text in HOSTILE)
    body = page(updates_of(["calm"])).replace(
        b"</html>", f"<h2>What we know</h2><ul>{items}</ul></html>".encode()
    )
    changes = plan(SourceState(), extract(body)).changes
    assert changes, "the baseline reports its key points"
    for change in changes:
        assert_safe(render_change(change, CTX, ping=True), role_id=ROLE)
