"""Small live pages written for these tests (JSON-LD LiveBlogPosting)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

UPDATES = [
    (
        "u1",
        "Lander enters the atmosphere",
        "The lander entered the thin Martian atmosphere at 04:10. Its heat shield held firm "
        "through the hottest part of the descent.",
    ),
    (
        "u2",
        "Parachute opens",
        "The supersonic parachute opened over Jezero crater. Engineers in the control room "
        "watched the telemetry in silence.",
    ),
    (
        "u3",
        "Touchdown confirmed",
        "Mission control confirmed touchdown on the crater floor. The first picture from the "
        "surface showed rocks and a dusty horizon.",
    ),
]


def live_page(
    title: str = "Mars landing: live updates",
    updates: list[tuple[str, str, str]] | None = None,
    key_points: list[str] | None = None,
) -> bytes:
    """A live blog with `updates` (id, headline, text), published a minute apart, the first
    half an hour ago: recent enough that the story is live whenever the tests run."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    items = [
        {
            "@type": "BlogPosting",
            "@id": f"https://news.test/mars#{ident}",
            "headline": headline,
            "articleBody": text,
            "datePublished": (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for n, (ident, headline, text) in enumerate(updates if updates is not None else UPDATES)
    ]
    data = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "headline": title,
        "coverageStartTime": (start - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "liveBlogUpdate": items,
    }
    box = ""
    if key_points:
        box = "<h2>Key points</h2><ul>" + "".join(f"<li>{k}</li>" for k in key_points) + "</ul>"
    return (
        "<!doctype html><html><head><title>" + title + "</title>"
        '<script type="application/ld+json">' + json.dumps(data) + "</script></head>"
        "<body><h1>" + title + "</h1>" + box + "</body></html>"
    ).encode()
