"""The status page in a real browser: Debian's chromium, headless, driven by Playwright (never a
downloaded browser). It finds what an operator looks for, runs nothing a source wrote, fits a
375 px screen, and keeps screenshots in .artifacts/ (ignored by git)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from playwright.async_api import Browser, async_playwright

from bot.config import Config, WebConfig
from bot.model import FailureReason, PauseReason
from bot.outcome import Retry, Sent
from bot.runtime import Runtime
from bot.store import PollOutcome, Store, open_store
from bot.web import Metrics, WebWindow
from tests.builders import entry, fail, poll, snap

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",  # as root
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",  # this machine's closed network refuses its calls
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = '<script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'">'
NOW = datetime.now(UTC).replace(microsecond=0)


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        message = "Debian's chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


async def newsroom(store: Store) -> dict[str, int]:
    """Stories an operator follows: one live with key points, one whose source fails, one
    paused by a moderator, and one whose page has a hostile title."""
    ids = {}
    harbour = await store.ensure_story("Harbour festival", guild_id=7, now=NOW)
    source = await store.add_source(harbour, "https://news.example/harbour", now=NOW)
    await store.subscribe(harbour, guild_id=7, channel_id=70, now=NOW)
    await poll(store, source, snap(entry(1), key_points=("The quay opens at ten",)), NOW)
    later = NOW + timedelta(minutes=1)
    changed = snap(entry(1), entry(2, title="Ferries run again"), key_points=("Ferries run",))
    await poll(store, source, changed, later)
    ids["harbour"] = harbour
    first, second, *_ = await store.pending_deliveries(later + timedelta(minutes=1))
    await store.record_delivery([first], Sent(900, 70), now=later)
    retry = Retry(FailureReason.DISCORD_ERROR, "Discord answered 503", at=later)
    await store.record_delivery([second], retry, now=later)
    mars = await store.ensure_story("Mars landing", guild_id=7, now=NOW)
    await store.add_source(mars, "https://news.example/mars", now=NOW)
    sub = await store.subscribe(mars, guild_id=7, channel_id=71, now=NOW)
    await store.pause_subscription(
        sub, reason=PauseReason.NO_PERMISSION, detail="Discord said 403 50013", now=later
    )
    broken = await store.ensure_story("Power cut", now=NOW)
    down = await store.add_source(broken, "https://down.example/live", now=NOW)
    await fail(store, down, now=NOW, error="HTTP 500 from https://down.example/live")
    ids["broken"] = broken
    paused = await store.ensure_story("Old election", guild_id=7, now=NOW)
    await store.add_source(paused, "https://news.example/election", now=NOW)
    await store.set_story_paused(paused, True, reason=PauseReason.MODERATOR, now=NOW)
    hostile = await store.ensure_story(f"Hostile {HOSTILE}", now=NOW)
    evil = await store.add_source(hostile, "https://evil.example/live", now=NOW)
    await poll(store, evil, snap(entry(1, title=HOSTILE, text=HOSTILE), title=HOSTILE), NOW)
    ids["hostile"] = hostile
    return ids


@pytest.fixture
async def served(tmp_path) -> AsyncIterator[tuple[str, dict[str, int]]]:
    store = await open_store(tmp_path / "page.db")
    ids = await newsroom(store)
    config = Config(web=WebConfig(listen="127.0.0.1:0"))
    metrics = Metrics()
    metrics.polled(1, PollOutcome.CHANGED, seconds=0.05, size=1000)
    runtime = Runtime(config, store, None, AsyncIOScheduler(timezone=UTC), observer=metrics)  # type: ignore[arg-type]
    window = WebWindow(runtime, metrics)
    url = await window.start()
    try:
        yield url, ids
    finally:
        await window.stop()
        await store.close()


async def test_the_front_page_shows_stories_statuses_key_points_and_errors(browser, served):
    url, _ = served
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{url}/")
    stories = page.locator("article.story h3")
    names = await stories.all_inner_texts()
    assert any(name.startswith("Harbour festival") for name in names)
    assert any(name.startswith("Power cut") for name in names)
    harbour = page.locator("article.story", has_text="Harbour festival")
    assert "live" in await harbour.locator("h3 .badge").inner_text()
    assert "Ferries run" in await harbour.locator(".key-points").inner_text()
    assert "Ferries run again" in await harbour.locator("ol.updates").inner_text()
    broken = page.locator("article.story", has_text="Power cut")
    assert "failing" in await broken.locator("td[data-label=Status]").inner_text()
    error = await broken.locator("td[data-label='Last error']").inner_text()
    assert "HTTP 500 from https://down.example/live" in error
    paused = page.locator("article.story", has_text="Old election")
    assert "paused" in await paused.locator("td[data-label=Status]").inner_text()
    backlog = await page.locator("#backlog + table").inner_text()
    assert "Mars landing in channel 71: Bulletin may no longer post there" in backlog
    deliveries = page.locator("#deliveries + table")
    outcomes = await deliveries.locator("td[data-label=Outcome]").all_inner_texts()
    assert outcomes == ["retry", "sent"]  # newest first
    assert "Discord answered 503" in await deliveries.inner_text()
    refresh = page.locator("meta[http-equiv=refresh]")
    assert await refresh.get_attribute("content") == "30"  # it refreshes itself
    assert await page.locator("h1").count() == 1
    assert await page.locator("table th[scope=col]").count() > 0
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "status-page.png", full_page=True)


async def test_a_storys_name_leads_to_its_page_with_its_embeds_drawn(browser, served):
    url, _ = served
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{url}/")
    await page.locator("article.story h3").get_by_role("link", name="Harbour festival").click()
    await page.wait_for_url("**/stories/*")
    assert (await page.locator("h1").inner_text()).startswith("Harbour festival")
    versions = await page.locator("ol.versions").inner_text()
    assert "Ferries run" in versions and "The quay opens at ten" in versions  # added, removed
    embeds = page.locator(".embed")
    assert await embeds.count() == 2  # the latest update and the key points
    assert "Ferries run again" in await embeds.nth(0).locator(".embed-title").inner_text()
    assert "Key points" in await embeds.nth(1).locator(".embed-title").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "story-page.png", full_page=True)


async def test_a_hostile_title_is_shown_as_text_and_runs_nothing(browser, served):
    url, ids = served
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for path in ("/", f"/stories/{ids['hostile']}"):
        await page.goto(f"{url}{path}")
        assert await page.title() != "pwned"
        assert await page.locator("script").count() == 0
        assert await page.locator("img").count() == 0
        assert HOSTILE in await page.locator("main").inner_text()
    assert errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_page_fits_375_pixels_in_both_schemes_with_readable_contrast(
    browser, served, scheme
):
    url, ids = served
    page = await browser.new_page(viewport={"width": 375, "height": 800}, color_scheme=scheme)
    for path in ("/", f"/stories/{ids['harbour']}"):
        await page.goto(f"{url}{path}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, path
        lowest = await page.evaluate(CONTRAST)
        assert lowest >= 4.5, (path, lowest)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.goto(f"{url}/")
    await page.screenshot(path=ARTIFACTS / f"status-page-375-{scheme}.png")


# The lowest contrast ratio (WCAG 2) between any visible text and the background behind it.
CONTRAST = """
() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  let lowest = 21;
  for (const el of document.querySelectorAll("body *")) {
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text || !el.getClientRects().length) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    lowest = Math.min(lowest, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
  }
  return lowest;
}
"""
