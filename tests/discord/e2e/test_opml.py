"""/source import and /source export through the real bot and cogs, against the fake Discord
(attachments, buttons, files) and the local source server (the feeds)."""

from __future__ import annotations

import aiohttp
import listparser
import pytest
from lxml import etree

from bot.services.common import MAX_SOURCES_PER_GUILD
from bot.services.opml import MAX_OPML_BYTES
from bot.sources.fetch import Fetcher, open_session
from bot.sources.limits import FetchLimits
from cogs._imports import EXPIRED_TEXT
from tests.discord.e2e.harness import start, stop
from tests.fakes.discord import CommandRefused, Perm
from tests.services.opml_files import feed_outline, group, opml, rss_feed

DEADLINE = 3.0


def go_button(inv) -> str:
    (custom_id,) = [
        c["custom_id"]
        for row in inv.original["components"]
        for c in row["components"]
        if c["custom_id"].endswith(":go")
    ]
    return custom_id


def text(inv) -> str:
    if inv.callback_type == 4:
        return inv.callbacks[0]["data"].get("content") or ""
    if inv.followups:
        return inv.followups[0].get("content") or ""
    return (inv.original or {}).get("content") or ""


async def run_import(h, data: bytes, *, member=None, guild=None, filename="feeds.opml", **kw):
    """/source import with DATA attached; returns the interaction once its plan (or refusal)
    is shown."""
    guild = guild or h.guild
    member = member or h.moderator(guild)
    upload = h.server.files.add(filename, data, content_type="text/x-opml", **kw)
    inv = await h.server.invoke(guild, member, "source import", {"file": upload})
    await inv.wait_for(
        lambda i: i.followups or (i.original and i.original["content"]) or i.callback_type == 4,
        timeout=5,
    )
    return inv


async def confirm(h, inv):
    """Press Import; returns the press once the summary replaced the progress."""
    press = await h.server.press(inv.original, go_button(inv))
    await press.wait_for(
        lambda p: p.original and p.original["content"].startswith("**Imported"), timeout=10
    )
    return press


async def story_sources(h, guild=None) -> dict[str, list[str]]:
    stories = await h.store.stories_for_guild((guild or h.guild).id)
    return {s.name: sorted(x.url for x in await h.store.sources_of_story(s.id)) for s in stories}


def serve_feeds(h, *names: str) -> dict[str, str]:
    for name in names:
        h.sources.page(f"/{name}.xml", rss_feed(name.title()), content_type="application/rss+xml")
    return {name: h.sources.url(f"/{name}.xml") for name in names}


async def test_import_shows_the_plan_then_adds_each_feed_to_its_story_when_confirmed(harness):
    urls = serve_feeds(harness, "ars", "verge", "solo")
    data = opml(
        group("Tech", feed_outline("Ars", urls["ars"]), feed_outline("Verge", urls["verge"])),
        feed_outline("Solo news", urls["solo"]),
        feed_outline("Old FTP", "ftp://files.test/feed"),
    )
    inv = await run_import(harness, data)
    assert inv.callback_type == 5 and inv.ephemeral and inv.answered_after < DEADLINE
    plan = inv.original["content"]
    for part in ("3 feeds found in “My feeds”", "“Tech”: 2 feeds", "“Solo news”: 1 feed"):
        assert part in plan
    assert "Old FTP" in plan and "not an http(s) address" in plan
    assert await story_sources(harness) == {}  # nothing before the moderator confirms
    assert harness.sources.hits["/ars.xml"] == 0

    press = await confirm(harness, inv)
    assert press.callback_type == 7  # the plan's message becomes the progress, then the summary
    summary = press.original["content"]
    assert "**Imported 3 feeds.**" in summary and "“Tech”: 2 sources added" in summary
    assert "Old FTP" in summary and "not an http(s) address" in summary
    assert press.original["components"] == []
    assert await story_sources(harness) == {
        "Tech": sorted([urls["ars"], urls["verge"]]),
        "Solo news": [urls["solo"]],
    }
    stories = await harness.store.stories_for_guild(harness.guild.id)
    (tech,) = [s for s in stories if s.name == "Tech"]
    assert len(await harness.store.latest_entries(tech.id)) == 4  # baselines taken, as /source add


async def test_every_outline_not_added_is_listed_with_why(harness):
    limits = FetchLimits(allow_private_addresses=(harness.sources.host_port,))
    session = open_session(limits)
    harness.runtime.fetcher = Fetcher(session, limits)
    urls = serve_feeds(harness, "good")
    harness.sources.page("/words", b"just words", content_type="text/plain")
    harness.sources.status("/gone", 404)
    data = opml(
        feed_outline("Good", urls["good"]),
        feed_outline("Metadata", "http://169.254.169.254/latest/feed"),
        feed_outline("Words", harness.sources.url("/words")),
        feed_outline("Gone", harness.sources.url("/gone")),
        feed_outline("Mail", "mailto:news@news.test"),
        '<outline type="include" text="Other list" url="https://lists.test/more.opml"/>',
    )
    try:
        inv = await run_import(harness, data)
        press = await confirm(harness, inv)
    finally:
        await session.close()
    summary = press.original["content"]
    assert "**Imported 1 feed.**" in summary
    for name, why in [
        ("Metadata", "refused address: 169.254.169.254 is link-local"),
        ("Words", "not a feed: "),
        ("Gone", "could not be fetched: HTTP 404"),
        ("Mail", "not an http(s) address"),
        ("Other list", "a link to another subscription list, not a feed"),
    ]:
        (line,) = [x for x in summary.splitlines() if x.startswith(f"• {name} ")]
        assert why in line, line
    assert list(await story_sources(harness)) == ["Good"]


async def test_the_servers_quota_holds_across_the_import(harness):
    full = await harness.store.ensure_story("Full", guild_id=harness.guild.id)
    for n in range(MAX_SOURCES_PER_GUILD - 2):
        await harness.store.add_source(full, f"https://news.test/{n}")
    urls = serve_feeds(harness, "a", "b", "c", "d")
    data = opml(group("Many", *(feed_outline(k.upper(), u) for k, u in urls.items())))
    inv = await run_import(harness, data)
    assert "can follow 2 more sources" in inv.original["content"]
    press = await confirm(harness, inv)
    summary = press.original["content"]
    assert "**Imported 2 feeds.**" in summary
    assert summary.count("over the server's quota of sources") == 2
    assert await harness.store.count_guild_sources(harness.guild.id) == MAX_SOURCES_PER_GUILD
    assert harness.sources.hits["/c.xml"] == harness.sources.hits["/d.xml"] == 0  # not fetched


async def test_importing_the_same_file_again_adds_nothing_twice(harness):
    urls = serve_feeds(harness, "a")
    data = opml(group("Tech", feed_outline("A", urls["a"])))
    await confirm(harness, await run_import(harness, data))
    press = await confirm(harness, await run_import(harness, data))
    assert "**Imported 0 feeds.**" in press.original["content"]
    assert "1 feed followed here already." in press.original["content"]
    assert await story_sources(harness) == {"Tech": [urls["a"]]}
    assert harness.sources.hits["/a.xml"] == 1


async def test_cancel_adds_nothing_and_takes_the_buttons_away(harness):
    urls = serve_feeds(harness, "a")
    inv = await run_import(harness, opml(feed_outline("A", urls["a"])))
    cancel = go_button(inv).replace(":go", ":cancel")
    press = await harness.server.press(inv.original, cancel)
    assert press.callback_type == 7
    assert press.original["content"] == "Import cancelled; nothing was added."
    assert press.original["components"] == []
    assert await story_sources(harness) == {}


async def test_a_confirmation_expires_after_its_time(harness):
    harness.bot.get_cog("Sources").confirm_seconds = 0.3
    urls = serve_feeds(harness, "a")
    inv = await run_import(harness, opml(feed_outline("A", urls["a"])))
    await inv.wait_for(lambda i: i.original["content"] == EXPIRED_TEXT, timeout=5)
    assert inv.original["components"] == []
    assert harness.bot.get_cog("Sources").imports == {}
    assert await story_sources(harness) == {}


async def test_a_button_pressed_after_a_restart_says_the_import_expired(harness):
    urls = serve_feeds(harness, "a")
    inv = await run_import(harness, opml(feed_outline("A", urls["a"])))
    await stop(harness.bot, harness.task)
    harness.bot, harness.task = await start(harness.runtime, harness.server)
    await harness.server.wait_connected()
    press = await harness.server.press(inv.original, go_button(inv))
    assert press.callback_type == 7
    assert press.original["content"] == EXPIRED_TEXT
    assert press.original["components"] == []
    assert await story_sources(harness) == {}
    assert harness.sources.hits["/a.xml"] == 0


async def test_a_member_without_manage_server_cannot_import_or_export(harness):
    member = harness.member("helper", Perm.MANAGE_CHANNELS)
    upload = harness.server.files.add("feeds.opml", opml())
    with pytest.raises(CommandRefused):
        await harness.server.invoke(harness.guild, member, "source import", {"file": upload})
    with pytest.raises(CommandRefused):
        await harness.server.invoke(harness.guild, member, "source export")


async def test_the_bot_checks_manage_server_itself_when_the_command_is_opened(harness):
    harness.server.commands[harness.guild.id]["source"]["default_member_permissions"] = None
    reader = harness.member("reader")
    urls = serve_feeds(harness, "a")
    inv = await run_import(harness, opml(feed_outline("A", urls["a"])), member=reader)
    assert "You need the Manage Server permission" in text(inv) and inv.ephemeral
    inv = await harness.server.invoke(harness.guild, reader, "source export")
    assert "You need the Manage Server permission" in text(inv) and inv.ephemeral
    assert await story_sources(harness) == {}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "That file is not OPML"),
        (b"<html><body><p>Hello</p></body></html>", "That file is not OPML"),
        (b"", "That file is not OPML (the file is empty)"),
        (b'<?xml version="1.0"?><opml version="2.0"><body><outline text="x', "lists no feeds"),
        (opml(), "lists no feeds"),
    ],
    ids=["binary", "html", "empty", "broken", "no-outlines"],
)
async def test_a_file_that_is_not_usable_opml_is_refused_saying_what_to_do(harness, data, expected):
    inv = await run_import(harness, data)
    answer = text(inv)
    assert expected in answer and "/source import" in answer and inv.ephemeral
    assert inv.original is None or not inv.original.get("components")


async def test_a_file_over_1_mb_is_refused_before_it_is_downloaded(harness):
    upload_data = opml(feed_outline("A", "https://a.test/feed")) + b" " * MAX_OPML_BYTES
    inv = await run_import(harness, upload_data)
    assert "over 1 MB" in text(inv) and inv.callback_type == 4 and inv.ephemeral
    (upload,) = harness.server.files.uploads.values()
    assert upload.downloads == 0


async def test_a_file_larger_than_discord_said_is_cut_off_at_1_mb(harness):
    big = opml(feed_outline("A", "https://a.test/feed")) + b" " * (3 * MAX_OPML_BYTES)
    inv = await run_import(harness, big, declared_size=1000)
    assert "over 1 MB" in text(inv)


async def test_a_damaged_file_is_read_as_far_as_it_goes_and_says_so(harness):
    urls = serve_feeds(harness, "a")
    data = opml(feed_outline("A & B", urls["a"])).replace(b"&amp;", b"&")
    inv = await run_import(harness, data)
    assert "1 feed found" in inv.original["content"]
    assert "The file is damaged (the XML is broken at line 2" in inv.original["content"]


async def test_each_server_imports_into_its_own_stories(harness):
    urls = serve_feeds(harness, "a")
    other = await harness.second_guild()
    data = opml(group("Tech", feed_outline("A", urls["a"])))
    await confirm(harness, await run_import(harness, data, guild=other))
    assert await story_sources(harness) == {}
    assert await story_sources(harness, other) == {"Tech": [urls["a"]]}
    inv = await harness.server.invoke(harness.guild, harness.moderator(), "source export")
    assert "follows no sources to export yet" in text(inv)


async def download(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.read()


async def test_export_is_an_opml_file_by_story_that_imports_back(harness):
    urls = serve_feeds(harness, "ars", "verge", "solo")
    data = opml(
        group(
            "Tech & <Science>", feed_outline("Ars", urls["ars"]), feed_outline("V", urls["verge"])
        ),
        feed_outline("Solo", urls["solo"]),
    )
    await confirm(harness, await run_import(harness, data))
    inv = await harness.server.invoke(harness.guild, harness.moderator(), "source export")
    assert inv.callback_type == 4 and inv.ephemeral
    assert text(inv).startswith("3 sources in 2 stories, as OPML 2.0")
    (attachment,) = inv.original["attachments"]
    assert attachment["filename"] == "bulletin-sources.opml"
    (sent,) = inv.callbacks
    assert sent["data"]["attachments"][0]["id"] == "0"  # a snowflake, as a string
    exported = await download(attachment["url"])

    root = etree.fromstring(exported)  # well-formed XML, as strict readers need
    assert root.tag == "opml" and root.get("version") == "2.0"
    stories = {o.get("text"): o for o in root.find("body")}
    assert set(stories) == {"Tech & <Science>", "Solo"}
    feeds = {o.get("xmlUrl"): o.get("type") for o in stories["Tech & <Science>"]}
    assert feeds == {urls["ars"]: "rss", urls["verge"]: "rss"}

    parsed = listparser.parse(exported)  # what feed readers built on listparser see
    assert not parsed.bozo and parsed.version == "opml2"
    assert sorted(f.url for f in parsed.feeds) == sorted(urls.values())

    other = await harness.second_guild()
    await confirm(harness, await run_import(harness, exported, guild=other))
    assert await story_sources(harness, other) == await story_sources(harness)


async def test_a_long_import_shows_its_progress_before_the_summary(harness, monkeypatch):
    monkeypatch.setattr("cogs._imports.PROGRESS_EVERY", 0.0)
    urls = serve_feeds(harness, "a", "b", "c")
    inv = await run_import(harness, opml(*(feed_outline(k, u) for k, u in urls.items())))
    before = harness.server.count("PATCH", "/webhooks/*/messages/@original")
    press = await harness.server.press(inv.original, go_button(inv))
    seen: list[str] = []
    await press.wait_for(
        lambda p: seen.append(p.original["content"]) or p.original["content"].startswith("**"),
        timeout=10,
    )
    assert any(t.startswith("Importing: ") and "of 3 feeds done" in t for t in seen), seen
    # the progress after the first and second feed, then the summary
    assert harness.server.count("PATCH", "/webhooks/*/messages/@original") - before == 3
