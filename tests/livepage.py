"""Synthetic live pages for the polling tests, written for them: a harbour-festival story."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta

BASE = datetime(2024, 6, 1, 11, 0, tzinfo=UTC)


def update(n: int, *, text: str | None = None, at: datetime | None = None) -> dict[str, object]:
    """Update N of the story: a JSON-LD BlogPosting."""
    published = at or BASE + timedelta(minutes=10 * n)
    return {
        "@type": "BlogPosting",
        "@id": f"https://news.example/live/harbour#post-{n}",
        "headline": f"Harbour festival update {n}",
        "articleBody": text or f"Boats number {n} have arrived at the quay. The crowd waved.",
        "datePublished": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def live_page(
    *updates: dict[str, object],
    key_points: tuple[str, ...] = (),
    coverage_end: datetime | None = None,
) -> bytes:
    """A live page: JSON-LD updates (newest first, as pages list them) and a key-points box."""
    blog: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": "https://news.example/live/harbour",
        "headline": "Harbour festival live",
        "liveBlogUpdate": list(reversed(updates)),
    }
    if coverage_end is not None:
        blog["coverageEndTime"] = coverage_end.strftime("%Y-%m-%dT%H:%M:%SZ")
    box = ""
    if key_points:
        items = "".join(f"<li>{html.escape(item)}</li>" for item in key_points)
        box = f'<section class="key-points"><h2>What to know</h2><ul>{items}</ul></section>'
    return (
        "<!DOCTYPE html><html><head><title>Harbour festival live</title>"
        f'<script type="application/ld+json">{json.dumps(blog)}</script></head>'
        f"<body><h1>Harbour festival live</h1>{box}</body></html>"
    ).encode()
