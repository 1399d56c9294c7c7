"""The seed document (../shared/fixtures/seed): the page this product was started from.

Its text is read in place and put into markup of its shape here (the fixture has no markup): the
headline, the lead paragraphs, the "Here’s what to know" box, then "Read More" and "Related Posts".
The bullets are its key points, word for word; the furniture never is; and Bulletin relays the
source's words as they are, the garbled sentence included, never "correcting" them.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.model import Entry, KeyPointsKind, SourceKind
from bot.sources.extract import extract
from bot.sources.summary import extracted_key_points

SEED = "seed/wapo_2022-03-01_russia-ukraine-live-updates.txt"
HEADING = "Here\u2019s what to know"
GARBLED = "under the leadership of an American president"  # the altered sentence


@dataclass(frozen=True)
class Seed:
    headline: str
    paragraphs: list[str]
    bullets: list[str]
    furniture: list[str]


def read_seed(path: Path) -> Seed:
    blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    box = blocks.index(HEADING)
    bullets = [line.strip().removeprefix("\u2022").strip() for line in blocks[box + 1].splitlines()]
    return Seed(blocks[0], blocks[1:box], bullets, blocks[box + 2 :])


@pytest.fixture
def seed(fixtures_dir: Path) -> Seed:
    return read_seed(fixtures_dir / SEED)


def seed_page(seed: Seed, *, live: bool) -> bytes:
    """The seed in markup of its shape; LIVE adds JSON-LD whose updates are its paragraphs."""
    updates = [
        {
            "@type": "BlogPosting",
            "@id": f"lead-{n}",
            "articleBody": text,
            "datePublished": f"2022-03-01T1{n}:00:00Z",
        }
        for n, text in enumerate(seed.paragraphs)
    ]
    blog = {"@type": "LiveBlogPosting", "headline": seed.headline, "liveBlogUpdate": updates}
    script = f'<script type="application/ld+json">{json.dumps(blog)}</script>' if live else ""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in seed.paragraphs)
    items = "".join(f"<li>{html.escape(b)}</li>" for b in seed.bullets)
    more, related = seed.furniture
    return (
        f"<!doctype html><html><head><title>{html.escape(seed.headline)}</title>{script}</head>"
        f"<body><article><h1>{html.escape(seed.headline)}</h1>{paragraphs}"
        f'<div class="summary"><h2>{HEADING}</h2><ul>{items}</ul></div>'
        f'<a href="/more">{more}</a><section><h3>{related}</h3>'
        '<ul><li><a href="/a">Another story</a></li></ul></section></article></body></html>'
    ).encode()


def test_the_seed_reads_as_its_readme_says(seed):
    assert len(seed.bullets) == 4
    assert seed.furniture == ["Read More", "Related Posts"]
    assert any(GARBLED in p for p in seed.paragraphs)


@pytest.mark.parametrize("live", [False, True], ids=["page", "live page"])
def test_the_seed_pages_bullets_are_its_key_points_word_for_word(seed, live):
    snapshot = extract(seed_page(seed, live=live))
    assert snapshot.kind is (SourceKind.LIVEBLOG if live else SourceKind.PAGE)
    assert snapshot.key_points is not None
    assert snapshot.key_points.kind is KeyPointsKind.SUMMARY
    assert list(snapshot.key_points.items) == seed.bullets
    joined = " ".join(snapshot.key_points.items)
    assert "Read More" not in joined and "Related Posts" not in joined


def test_the_seed_is_relayed_as_written_garbled_sentence_included(seed):
    snapshot = extract(seed_page(seed, live=True))
    assert [e.text for e in snapshot.entries] == seed.paragraphs
    assert any(GARBLED in e.text for e in snapshot.entries)


def test_an_extracted_summary_of_the_seed_is_made_of_its_own_sentences(seed):
    entries = [
        Entry(id=f"lead-{n}", title=None, text=text, url=None, published=None)
        for n, text in enumerate(seed.paragraphs)
    ]
    summary = extracted_key_points(entries)
    assert summary is not None and summary.kind is KeyPointsKind.EXTRACTED
    assert 1 <= len(summary.items) <= 5
    text = " ".join(seed.paragraphs)
    for sentence in summary.items:
        assert sentence in text  # verbatim: nothing invented, nothing corrected
