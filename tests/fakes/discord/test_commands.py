"""Slash commands through the fake: registration, typed options, answers, autocomplete, refusals."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import CommandRefused, InvocationError, Perm

STORIES = ["Mars landing", "Election night", "Storm Ciaran"]


class Probe(commands.Cog):
    """A small cog standing in for the product's: it records what reached it."""

    source = app_commands.Group(name="source", description="Manage sources")

    def __init__(self) -> None:
        self.calls: list[dict] = []

    @app_commands.command(name="subscribe", description="Follow a story in a channel")
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.describe(story="The story", channel="Where", mention="Who to ping", backfill="N")
    async def subscribe(
        self,
        interaction: discord.Interaction,
        story: str,
        channel: discord.TextChannel,
        mention: discord.Role | None = None,
        backfill: app_commands.Range[int, 0, 10] = 0,
    ) -> None:
        self.calls.append(
            {"story": story, "channel": channel, "mention": mention, "backfill": backfill}
        )
        await interaction.response.send_message(f"Subscribed {channel.mention} to {story}")

    @subscribe.autocomplete("story")
    async def story_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=s, value=s) for s in STORIES if current.lower() in s.lower()
        ]

    @app_commands.command(name="latest", description="The newest updates")
    async def latest(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="three new updates")

    @source.command(name="add", description="Add a source")
    @app_commands.describe(url="The page")
    async def source_add(self, interaction: discord.Interaction, url: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"Added {url}", ephemeral=True)


@pytest.fixture
async def probe(discord_server, guild, start_bot):
    cog = Probe()
    await start_bot(cog, sync=guild)
    return cog


@pytest.fixture
def moderator(discord_server, guild):
    mods = discord_server.add_role(guild, "Mods", Perm.MANAGE_CHANNELS)
    return discord_server.add_member(guild, "mod", roles=[mods])


async def test_synced_commands_are_listed_with_their_permissions(discord_server, guild, probe):
    registered = discord_server.registered(guild)
    assert sorted(registered) == ["latest", "source", "subscribe"]
    assert registered["subscribe"]["default_member_permissions"] == str(Perm.MANAGE_CHANNELS)
    assert registered["source"]["options"][0]["name"] == "add"


async def test_options_reach_the_cog_typed_with_resolved_channel_and_role(
    discord_server, guild, probe, moderator
):
    news = discord_server.add_channel(guild, "news")
    pings = discord_server.add_role(guild, "Pings")
    options = {"story": "Mars landing", "channel": news, "mention": pings, "backfill": 3}
    inv = await discord_server.invoke(guild, moderator, "subscribe", options)
    call = probe.calls[0]
    assert (call["story"], call["backfill"]) == ("Mars landing", 3)
    assert call["channel"].id == news.id
    assert call["mention"].id == pings.id and call["mention"].name == "Pings"
    assert inv.callback_type == 4
    reply = await discord_server.next_message(guild.system_channel_id)
    assert reply["content"] == f"Subscribed <#{news.id}> to Mars landing"


async def test_deferred_reply_edited_in_place_appears_in_the_channel(discord_server, guild, probe):
    member = discord_server.add_member(guild, "reader")
    inv = await discord_server.invoke(guild, member, "latest")
    await inv.wait_for(lambda i: i.original and i.original["content"])
    assert inv.callback_type == 5
    assert (await discord_server.next_message(guild.system_channel_id))["content"] == (
        "three new updates"
    )


async def test_subcommand_defer_and_ephemeral_followup_are_recorded(
    discord_server, guild, probe, moderator
):
    inv = await discord_server.invoke(
        guild, moderator, "source add", {"url": "https://x.test/live"}
    )
    await inv.wait_for(lambda i: i.followups)
    assert inv.callback_type == 5 and inv.ephemeral
    assert inv.followups[0]["content"] == "Added https://x.test/live"
    assert discord_server.messages_in(guild.system_channel_id) == []  # ephemeral: not in channel


async def test_autocomplete_returns_the_choices_the_bot_answered(
    discord_server, guild, probe, moderator
):
    choices = await discord_server.autocomplete(
        guild, moderator, "subscribe", {"story": "ar"}, focused="story"
    )
    assert [c["value"] for c in choices] == ["Mars landing", "Storm Ciaran"]


@pytest.mark.parametrize(
    ("role_permissions", "allowed"),
    [
        (0, False),
        (Perm.MANAGE_GUILD, False),
        (Perm.MANAGE_CHANNELS, True),
        (Perm.ADMINISTRATOR, True),
    ],
)
async def test_default_member_permissions_decide_who_may_run_the_command(
    discord_server, guild, probe, role_permissions, allowed
):
    role = discord_server.add_role(guild, "r", role_permissions)
    member = discord_server.add_member(guild, "m", roles=[role])
    news = discord_server.add_channel(guild, "news")
    options = {"story": "Mars landing", "channel": news}
    if allowed:
        await discord_server.invoke(guild, member, "subscribe", options)
        assert len(probe.calls) == 1
    else:
        with pytest.raises(CommandRefused):
            await discord_server.invoke(guild, member, "subscribe", options)
        assert probe.calls == []


@pytest.mark.parametrize(
    "options",
    [
        {"story": "x", "backfill": 11},  # out of Range[0, 10]
        {"channel": "GENERAL"},  # required story missing
        {"story": "x", "colour": "red"},  # no such option
    ],
)
async def test_options_discord_would_not_send_are_rejected(
    discord_server, guild, probe, moderator, options
):
    options = {k: (guild.system_channel_id if v == "GENERAL" else v) for k, v in options.items()}
    options.setdefault("channel", guild.system_channel_id)
    with pytest.raises(InvocationError):
        await discord_server.invoke(guild, moderator, "subscribe", options)


async def test_a_second_answer_to_one_interaction_is_refused(discord_server, guild, start_bot):
    errors: list[Exception] = []

    class Twice(commands.Cog):
        @app_commands.command(name="ping", description="Answers twice")
        async def ping(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message("one")
            try:
                await interaction.response.send_message("two")
            except discord.InteractionResponded as exc:
                errors.append(exc)

    await start_bot(Twice(), sync=guild)
    member = discord_server.add_member(guild, "reader")
    await discord_server.invoke(guild, member, "ping")
    await discord_server.wait_until(lambda: errors)
    assert len(discord_server.messages_in(guild.system_channel_id)) == 1
