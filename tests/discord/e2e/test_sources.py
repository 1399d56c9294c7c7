"""/source add|remove|list|status|pause|resume and /settings through the real bot and the fake."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services.common import MAX_SOURCES_PER_GUILD
from bot.sources.fetch import Fetcher, open_session
from bot.sources.limits import FetchLimits
from tests.builders import fail
from tests.fakes.discord import CommandRefused, Perm
from tests.services.pages import live_page

DEADLINE = 3.0


def reply(inv) -> str:
    """The text the member saw first: the answer, or the first followup after a defer."""
    if inv.callback_type == 4:
        return inv.callbacks[0]["data"].get("content") or ""
    return inv.followups[0].get("content") or ""


async def add(h, url, member=None, guild=None, **options):
    guild = guild or h.guild
    member = member or h.moderator(guild)
    inv = await h.server.invoke(guild, member, "source add", {"url": url, **options})
    await inv.wait_for(lambda i: i.followups, timeout=5)
    return inv


async def test_source_add_defers_then_previews_and_saves_a_new_story(harness):
    harness.sources.page("/mars", live_page(key_points=["The lander is down", "Pictures soon"]))
    inv = await add(harness, harness.sources.url("/mars"))
    assert inv.callback_type == 5 and inv.ephemeral
    assert inv.answered_after < DEADLINE
    text = reply(inv)
    for part in ("Mars landing: live updates", "Kind: liveblog", "Updates found: 3", "2 items"):
        assert part in text
    stories = await harness.store.stories_for_guild(harness.guild.id)
    assert [s.name for s in stories] == ["Mars landing: live updates"]
    assert len(await harness.store.latest_entries(stories[0].id)) == 3  # baseline taken


async def test_source_add_with_a_known_story_joins_it(harness):
    harness.sources.page("/a", live_page(title="Page A"))
    harness.sources.page("/b", live_page(title="Page B"))
    await add(harness, harness.sources.url("/a"), story="Election")
    inv = await add(harness, harness.sources.url("/b"), story="election")
    assert "Added to “Election”" in reply(inv)
    (story,) = await harness.store.stories_for_guild(harness.guild.id)
    assert len(await harness.store.sources_of_story(story.id)) == 2


async def test_same_url_in_two_servers_is_one_source(harness):
    harness.sources.page("/mars", live_page())
    other = await harness.second_guild()
    await add(harness, harness.sources.url("/mars"), story="Mars")
    await add(harness, harness.sources.url("/mars"), guild=other, story="Mars too")
    (mine,) = await harness.store.stories_for_guild(harness.guild.id)
    (theirs,) = await harness.store.stories_for_guild(other.id)
    (a,) = await harness.store.sources_of_story(mine.id)
    (b,) = await harness.store.sources_of_story(theirs.id)
    assert a.id == b.id
    assert harness.sources.hits["/mars"] == 2  # each preview fetched once; polling is shared


@pytest.mark.parametrize(
    ("path", "url", "expected", "next_step"),
    [
        (None, "ftp://news.test/live", "not a web address", "give one starting with https://"),
        ("/gone", None, "HTTP 404", "Check that it opens in a browser, then try /source add"),
        ("/text", None, "it is plain text", "an RSS, Atom or JSON feed"),
    ],
)
async def test_source_add_refusals_say_what_went_wrong(harness, path, url, expected, next_step):
    harness.sources.status("/gone", 404)
    harness.sources.page("/text", b"just words", content_type="text/plain")
    inv = await add(harness, url or harness.sources.url(path))
    assert expected in reply(inv) and next_step in reply(inv)
    assert inv.ephemeral
    assert await harness.store.stories_for_guild(harness.guild.id) == []


async def test_source_add_of_a_private_address_says_only_public_ones_are_followed(harness):
    limits = FetchLimits(allow_private_addresses=False)
    session = open_session(limits)
    harness.runtime.fetcher = Fetcher(session, limits)
    try:
        harness.sources.page("/mars", live_page())
        inv = await add(harness, harness.sources.url("/mars"))
    finally:
        await session.close()
    assert reply(inv).startswith("Bulletin follows only public web addresses (")
    assert harness.sources.hits["/mars"] == 0


async def test_source_add_refuses_an_interval_below_the_minimum(harness):
    harness.sources.page("/mars", live_page())
    inv = await add(harness, harness.sources.url("/mars"), interval=5)
    assert "at most every 15 seconds" in reply(inv)


async def test_source_add_refuses_beyond_the_server_quota(harness):
    story = await harness.store.ensure_story("Full", guild_id=harness.guild.id)
    for n in range(MAX_SOURCES_PER_GUILD):
        await harness.store.add_source(story, f"https://news.test/{n}")
    harness.sources.page("/mars", live_page())
    inv = await add(harness, harness.sources.url("/mars"))
    assert f"{MAX_SOURCES_PER_GUILD} sources already" in reply(inv)
    assert harness.sources.hits["/mars"] == 0  # refused before fetching


async def test_member_without_manage_server_cannot_see_source_commands(harness):
    member = harness.member("helper", Perm.MANAGE_CHANNELS)
    with pytest.raises(CommandRefused):
        await harness.server.invoke(harness.guild, member, "source list")


async def test_run_time_check_refuses_when_an_admin_opened_the_command_to_everyone(harness):
    # Server admins can override default_member_permissions in Discord's settings; the bot
    # still checks Manage Server itself.
    harness.server.commands[harness.guild.id]["source"]["default_member_permissions"] = None
    inv = await harness.server.invoke(harness.guild, harness.member("reader"), "source list")
    assert inv.ephemeral
    assert "You need the Manage Server permission" in reply(inv)


async def test_config_story_cannot_be_paused_by_a_server(harness):
    await harness.store.ensure_story("World Cup")  # a story from the config file
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "source pause", {"story": "World Cup"}
    )
    assert "config file" in reply(inv) and inv.ephemeral


async def test_pause_and_resume_a_story(harness):
    await harness.store.ensure_story("Storm", guild_id=harness.guild.id)
    mod = harness.moderator()
    inv = await harness.server.invoke(harness.guild, mod, "source pause", {"story": "Storm"})
    assert "Paused “Storm”" in reply(inv)
    (story,) = await harness.store.stories_for_guild(harness.guild.id)
    assert story.paused_at is not None
    inv = await harness.server.invoke(harness.guild, mod, "source resume", {"story": "storm"})
    assert "Resumed “Storm”" in reply(inv)
    assert (await harness.store.get_story(story.id)).paused_at is None


async def test_remove_one_source_by_url(harness):
    story = await harness.store.ensure_story("Storm", guild_id=harness.guild.id)
    await harness.store.add_source(story, "https://news.test/a")
    await harness.store.add_source(story, "https://news.test/b")
    inv = await harness.server.invoke(
        harness.guild,
        harness.moderator(),
        "source remove",
        {"story": "Storm", "url": "https://news.test/a"},
    )
    assert "1 source left" in reply(inv)
    assert [s.url for s in await harness.store.sources_of_story(story)] == ["https://news.test/b"]


async def test_remove_without_url_removes_the_story(harness):
    story = await harness.store.ensure_story("Storm", guild_id=harness.guild.id)
    await harness.store.add_source(story, "https://news.test/a")
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "source remove", {"story": "Storm"}
    )
    assert "Removed the story “Storm”" in reply(inv)
    assert await harness.store.stories_for_guild(harness.guild.id) == []


async def test_url_autocomplete_offers_the_chosen_storys_sources(harness):
    story = await harness.store.ensure_story("Storm", guild_id=harness.guild.id)
    await harness.store.add_source(story, "https://news.test/a")
    choices = await harness.server.autocomplete(
        harness.guild,
        harness.moderator(),
        "source remove",
        {"story": "Storm", "url": ""},
        focused="url",
    )
    assert [c["value"] for c in choices] == ["https://news.test/a"]


async def test_source_list_and_status_show_each_source(harness):
    story = await harness.store.ensure_story("Storm", guild_id=harness.guild.id)
    source = await harness.store.add_source(story, "https://news.test/a", interval=120)

    await fail(harness.store, source, now=datetime.now(UTC), error="HTTP 503", pause_after=10)
    mod = harness.moderator()
    listed = await harness.server.invoke(harness.guild, mod, "source list")
    assert "• <https://news.test/a> — checked every 120 s" in reply(listed)
    status = await harness.server.invoke(harness.guild, mod, "source status", {"story": "Storm"})
    text = reply(status)
    assert "Last error: HTTP 503" in text and "1 failure in a row" in text
    assert "Next check:" in text


async def test_settings_alerts_sets_the_channel(harness):
    alerts = harness.server.add_channel(harness.guild, "alerts")
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "settings alerts", {"channel": alerts}
    )
    assert reply(inv) == f"Bulletin will report failing sources and deliveries in <#{alerts.id}>."
    assert await harness.store.alerts_channel(harness.guild.id) == alerts.id


async def test_settings_alerts_names_what_the_bot_lacks_there(harness):
    hidden = harness.server.add_channel(harness.guild, "hidden")
    await harness.server.set_overwrite(
        hidden, harness.server.bot_role(harness.guild), deny=Perm.SEND_MESSAGES
    )
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "settings alerts", {"channel": hidden}
    )
    assert "needs Send Messages" in reply(inv)
    assert await harness.store.alerts_channel(harness.guild.id) is None
