"""The live page `bulletin demo` serves: a fictional launch, growing step by step.

`demo_page(step, start=...)` returns the page as it stands at `step` (0 … DEMO_STEPS - 1):
HTML shaped like a newsroom's live page, with a JSON-LD `LiveBlogPosting` (updates newest
first, each with `@id`, headline, body and dates), a "Here’s what to know" box and some page
furniture (navigation, related links, footer) that is not content. Over the steps new updates
arrive, one update is corrected (EDIT_STEP) and the key points change once (KEY_POINTS_STEP).

Update times are `start` plus `step × step_interval`, so a server that moves to step k at
`start + k × step_interval` (see `demo_step_at`) never shows a time from the future.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from bot.demo.story import (
    DEMO_STEPS,
    EDIT_STEP,
    EDITED_BODY,
    EDITED_SLUG,
    HEADLINE,
    KEY_POINTS_AFTER,
    KEY_POINTS_BEFORE,
    KEY_POINTS_STEP,
    PUBLISHER,
    STANDFIRST,
    UPDATES,
    DemoUpdate,
)
from bot.model import utc

__all__ = ["DEMO_STEPS", "DEMO_STEP_INTERVAL", "DEMO_URL", "demo_page", "demo_step_at"]

DEMO_STEP_INTERVAL = timedelta(seconds=6)  # about a minute from the first step to the last
DEMO_URL = "http://127.0.0.1:8765/live/kestrel-4-launch"


def demo_step_at(
    now: datetime, *, start: datetime, step_interval: timedelta = DEMO_STEP_INTERVAL
) -> int:
    """The step the page is at `now` when the demo began at `start` (clamped to the last)."""
    elapsed = utc(now) - utc(start)
    if elapsed <= timedelta(0):
        return 0
    return min(int(elapsed / step_interval), DEMO_STEPS - 1)


def _iso(when: datetime) -> str:
    return utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def _published(update: DemoUpdate, start: datetime, interval: timedelta) -> datetime:
    if update.step == 0:
        return start - timedelta(minutes=update.minutes_before)
    return start + update.step * interval


def _json_for_script(data: object) -> str:
    # `<`, `>` and `&` escaped so no string can close the <script> element.
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def demo_page(
    step: int,
    *,
    start: datetime,
    step_interval: timedelta = DEMO_STEP_INTERVAL,
    url: str = DEMO_URL,
) -> bytes:
    """The demo page at `step` as UTF-8 HTML; steps past the last give the last page."""
    import html  # here: its entity table (about 1 MB) is not loaded by `bulletin run`

    if step < 0:
        raise ValueError(f"demo step must be 0 or more, not {step}")
    if start.tzinfo is None:
        raise ValueError("demo start time must be timezone-aware")
    step = min(step, DEMO_STEPS - 1)
    start = utc(start)
    base = url.rsplit("/live/", 1)[0]

    shown = [update for update in UPDATES if update.step <= step]
    shown.sort(key=lambda u: _published(u, start, step_interval), reverse=True)  # newest first
    key_points = KEY_POINTS_AFTER if step >= KEY_POINTS_STEP else KEY_POINTS_BEFORE

    posts: list[dict[str, object]] = []
    articles: list[str] = []
    latest = start - timedelta(minutes=45)
    for update in shown:
        published = _published(update, start, step_interval)
        modified = published
        body = update.body
        if update.slug == EDITED_SLUG and step >= EDIT_STEP:
            body = EDITED_BODY
            modified = start + EDIT_STEP * step_interval
        latest = max(latest, modified)
        permalink = f"{url}#update-{update.slug}"
        post: dict[str, object] = {
            "@type": "BlogPosting",
            "@id": permalink,
            "url": permalink,
            "headline": update.headline,
            "articleBody": body,
            "datePublished": _iso(published),
            "dateModified": _iso(modified),
        }
        if update.image:
            post["image"] = {"@type": "ImageObject", "url": f"{base}/{update.image}"}
        posts.append(post)
        articles.append(
            f'<article class="live-update" id="update-{update.slug}">\n'
            f'  <time datetime="{_iso(published)}">{published:%H:%M} UTC</time>\n'
            f"  <h3>{html.escape(update.headline)}</h3>\n"
            f"  <p>{html.escape(body)}</p>\n"
            '  <footer class="share">Share this update</footer>\n'
            "</article>"
        )

    blog = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": url,
        "url": url,
        "headline": HEADLINE,
        "description": STANDFIRST,
        "datePublished": _iso(start - timedelta(minutes=45)),
        "dateModified": _iso(latest),
        "coverageStartTime": _iso(start - timedelta(minutes=45)),
        "publisher": {"@type": "Organization", "name": PUBLISHER},
        "liveBlogUpdate": posts,
    }
    organisation = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": PUBLISHER,
        "url": base + "/",
    }
    site = html.escape(base)
    points = "\n".join(f"    <li>{html.escape(item)}</li>" for item in key_points)
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(HEADLINE)} | {html.escape(PUBLISHER)}</title>
<meta name="description" content="{html.escape(STANDFIRST)}">
<link rel="canonical" href="{html.escape(url)}">
<script type="application/ld+json">
{_json_for_script(blog)}
</script>
<script type="application/ld+json">
{_json_for_script(organisation)}
</script>
</head>
<body>
<header class="site-header">
  <a class="logo" href="{site}/">{html.escape(PUBLISHER)}</a>
  <nav>
    <a href="{site}/news">News</a> <a href="{site}/science">Science</a>
    <a href="{site}/weather">Weather</a> <a href="{site}/subscribe">Subscribe</a>
  </nav>
</header>
<main>
<p class="breadcrumb"><a href="{site}/science">Science</a> › Space</p>
<span class="live-badge">Live</span>
<h1>{html.escape(HEADLINE)}</h1>
<p class="standfirst">{html.escape(STANDFIRST)}</p>
<section class="key-points">
  <h2>Here’s what to know</h2>
  <ul>
{points}
  </ul>
</section>
<section class="live-updates">
{chr(10).join(articles)}
</section>
<aside class="related">
  <h2>Read more</h2>
  <ul>
    <li><a href="{site}/science/how-weather-satellites-work">
      How weather satellites see storms coming</a></li>
    <li><a href="{site}/science/saltmarsh-point-history">
      Saltmarsh Point: from airfield to spaceport</a></li>
  </ul>
</aside>
</main>
<footer class="site-footer">
  <p>© {html.escape(PUBLISHER)}. A fictional newspaper for the Bulletin demo.</p>
  <p><a href="{site}/privacy">Privacy</a> · <a href="{site}/cookies">Cookies</a></p>
</footer>
</body>
</html>
"""
    return page.encode("utf-8")
