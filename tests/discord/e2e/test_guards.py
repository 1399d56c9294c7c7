"""Guards: every cog loads and unloads cleanly, commands are unique and described; run_discord
starts, answers and returns when told to stop."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands

from bot.discord.client import BulletinBot, cog_extensions, run_discord
from bot.errors import BulletinError
from tests.discord.e2e.harness import close_runtime, eventually, make_runtime

EXPECTED = {"help", "stories", "latest", "keypoints", "subscribe", "unsubscribe",
            "subscriptions", "source", "settings"}  # fmt: skip


@pytest.fixture
async def loaded(discord_server, tmp_path):
    runtime = await make_runtime(tmp_path, dev_guild=1234, server=discord_server)
    bot = BulletinBot(runtime)
    for name in cog_extensions():
        await bot.load_extension(name)
    try:
        yield bot
    finally:
        await bot.close()
        await close_runtime(runtime)


def test_every_cog_module_is_an_extension():
    assert cog_extensions() == [
        "cogs.admin",
        "cogs.help",
        "cogs.settings",
        "cogs.sources",
        "cogs.stories",
        "cogs.subscriptions",
    ]


async def test_global_commands_are_the_issues_and_unique(loaded):
    names = [c.name for c in loaded.tree.get_commands()]
    assert len(names) == len(set(names))
    assert set(names) == EXPECTED
    dev = [c.name for c in loaded.tree.get_commands(guild=discord.Object(1234))]
    assert dev == ["sync"]


def _walk(command):
    yield command
    if isinstance(command, app_commands.Group):
        for child in command.commands:
            yield from _walk(child)


async def test_every_command_and_option_has_a_description(loaded):
    commands = [*loaded.tree.get_commands(), *loaded.tree.get_commands(guild=discord.Object(1234))]
    for top in commands:
        for command in _walk(top):
            assert command.description and command.description != "…", command.qualified_name
            for parameter in getattr(command, "parameters", []):
                assert parameter.description not in ("", "…"), (command.name, parameter.name)


# Every command with its options as the issue names them; required ones first, in order.
SIGNATURES = {
    "help": [],
    "stories": [],
    "latest": [("story", True), ("count", False)],
    "keypoints": [("story", True)],
    "subscribe": [("story", True), ("channel", False), ("mode", False), ("every", False),
                  ("mention", False), ("keywords", False), ("thread", False),
                  ("backfill", False)],
    "unsubscribe": [("story", True), ("channel", False)],
    "subscriptions": [],
    "source add": [("url", True), ("story", False), ("interval", False)],
    "source remove": [("story", True), ("url", False)],
    "source list": [],
    "source status": [("story", False)],
    "source pause": [("story", True)],
    "source resume": [("story", True)],
    "settings alerts": [("channel", True)],
    "sync": [("global", False)],
}  # fmt: skip


async def test_every_command_has_the_options_the_issue_names(loaded):
    commands = [*loaded.tree.get_commands(), *loaded.tree.get_commands(guild=discord.Object(1234))]
    found = {
        command.qualified_name: [(p.display_name, p.required) for p in command.parameters]
        for top in commands
        for command in _walk(top)
        if not isinstance(command, app_commands.Group)
    }
    assert found == SIGNATURES


@pytest.mark.parametrize("extension", cog_extensions())
async def test_each_cog_unloads_and_takes_its_commands_away(loaded, extension):
    before = {c.name for c in loaded.tree.get_commands()}
    before |= {c.name for c in loaded.tree.get_commands(guild=discord.Object(1234))}
    await loaded.unload_extension(extension)
    after = {c.name for c in loaded.tree.get_commands()}
    after |= {c.name for c in loaded.tree.get_commands(guild=discord.Object(1234))}
    assert after < before
    await loaded.load_extension(extension)
    again = {c.name for c in loaded.tree.get_commands()}
    again |= {c.name for c in loaded.tree.get_commands(guild=discord.Object(1234))}
    assert again == before


async def test_run_discord_starts_answers_and_returns_on_stop(discord_server, guild, tmp_path):
    runtime = await make_runtime(tmp_path, dev_guild=guild.id, server=discord_server)
    stop = asyncio.Event()
    try:
        task = asyncio.create_task(run_discord(runtime, discord_server.token, stop=stop))
        await eventually(
            lambda: "help" in discord_server.registered(guild) and discord_server.sessions, 5
        )
        member = discord_server.add_member(guild, "reader")
        inv = await discord_server.invoke(guild, member, "help")
        assert inv.ephemeral
        stop.set()
        await asyncio.wait_for(task, 10)
        assert task.result() is None
    finally:
        await close_runtime(runtime)


async def test_run_discord_reports_a_refused_token_without_showing_it(
    discord_server, guild, tmp_path
):
    runtime = await make_runtime(tmp_path, dev_guild=None, server=discord_server)
    try:
        with pytest.raises(BulletinError, match="refused the bot token") as caught:
            await asyncio.wait_for(run_discord(runtime, "not-the-token", stop=asyncio.Event()), 10)
        assert "not-the-token" not in str(caught.value)
    finally:
        await close_runtime(runtime)
