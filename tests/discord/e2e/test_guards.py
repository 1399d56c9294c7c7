"""Guards: every cog loads and unloads cleanly, commands are unique and described; run_discord
starts, answers and returns when told to stop."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands

from bot.discord.client import BulletinBot, cog_extensions, run_discord
from bot.errors import BulletinError
from tests.discord.e2e.harness import close_runtime, eventually, make_runtime, start, stop
from tests.fakes.discord import Perm

EXPECTED = {"help", "stories", "latest", "keypoints", "subscribe", "unsubscribe",
            "subscriptions", "deliveries", "why", "source", "settings"}  # fmt: skip


@pytest.fixture
async def loaded(discord_server, tmp_path):
    runtime = await make_runtime(tmp_path, dev_guild=1234, server=discord_server)
    try:
        # entered as run_discord enters it: an AutoShardedBot is set up there, or cannot close
        async with BulletinBot(runtime) as bot:
            for name in cog_extensions():
                await bot.load_extension(name)
            yield bot
    finally:
        await close_runtime(runtime)


def test_every_cog_module_is_an_extension():
    assert cog_extensions() == [
        "cogs.admin",
        "cogs.help",
        "cogs.history",
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


# The commands as the issue names them: (option, type, required, extra) per command, in order.
# Types are Discord's: 3 string, 4 integer, 5 boolean, 7 channel, 8 role, 11 attachment.
STORY = ("story", 3, True, {"autocomplete": True})
SPEC: dict[str, tuple[int | None, list[tuple]]] = {
    "help": (None, []),
    "stories": (None, []),
    "latest": (None, [STORY, ("count", 4, False, {"min_value": 1, "max_value": 10})]),
    "keypoints": (None, [STORY]),
    "subscribe": (
        Perm.MANAGE_CHANNELS,
        [
            STORY,
            ("channel", 7, False, {}),
            ("mode", 3, False, {"choices": ["updates", "key-points", "digest"]}),
            ("every", 3, False, {"choices": ["1h", "3h", "6h", "12h", "24h"]}),
            ("mention", 8, False, {}),
            ("keywords", 3, False, {"min_length": 1, "max_length": 500}),
            ("exclude", 3, False, {"min_length": 1, "max_length": 500}),
            ("pattern", 3, False, {"min_length": 1, "max_length": 200}),
            ("thread", 5, False, {}),
            ("backfill", 4, False, {"min_value": 0, "max_value": 10}),
            ("publish", 5, False, {}),
        ],
    ),
    "unsubscribe": (Perm.MANAGE_CHANNELS, [STORY, ("channel", 7, False, {})]),
    "subscriptions": (Perm.MANAGE_CHANNELS, []),
    "deliveries": (Perm.MANAGE_CHANNELS, [STORY, ("channel", 7, False, {})]),
    "why": (
        Perm.MANAGE_CHANNELS,
        [STORY, ("update", 3, True, {"autocomplete": True, "min_length": 1, "max_length": 100})],
    ),
    "source add": (
        Perm.MANAGE_GUILD,
        [("url", 3, True, {}), ("story", 3, False, {}), ("interval", 4, False, {})],
    ),
    "source remove": (Perm.MANAGE_GUILD, [STORY, ("url", 3, False, {"autocomplete": True})]),
    "source list": (Perm.MANAGE_GUILD, []),
    "source status": (Perm.MANAGE_GUILD, [("story", 3, False, {"autocomplete": True})]),
    "source pause": (Perm.MANAGE_GUILD, [STORY]),
    "source resume": (Perm.MANAGE_GUILD, [STORY]),
    "source import": (Perm.MANAGE_GUILD, [("file", 11, True, {})]),  # 11: attachment
    "source export": (Perm.MANAGE_GUILD, []),
    "settings alerts": (Perm.MANAGE_GUILD, [("channel", 7, True, {})]),
}


def _registered_commands(registered: dict) -> dict[str, tuple[dict, dict]]:
    """{"source add": (subcommand, top-level command), ...} from what Discord was sent."""
    found = {}
    for name, top in registered.items():
        subs = [o for o in top.get("options", []) if o["type"] == 1]
        if not subs:
            found[name] = (top, top)
        for sub in subs:
            found[f"{name} {sub['name']}"] = (sub, top)
    return found


async def test_registered_commands_and_options_are_exactly_the_issues(harness):
    registered = _registered_commands(harness.server.registered())  # the global commands
    assert set(registered) == set(SPEC)
    for name, (permission, options) in SPEC.items():
        command, top = registered[name]
        wanted = None if permission is None else str(permission)
        assert top.get("default_member_permissions") == wanted, name
        assert command["description"].strip(), name
        got = command.get("options", [])
        assert [o["name"] for o in got] == [o[0] for o in options], name
        for option, (_, kind, required, extra) in zip(got, options, strict=True):
            where = f"/{name} {option['name']}"
            assert option["type"] == kind, where
            assert bool(option.get("required")) is required, where
            assert option["description"].strip() and option["description"] != "…", where
            assert bool(option.get("autocomplete")) is bool(extra.get("autocomplete")), where
            if "choices" in extra:
                assert [c["value"] for c in option["choices"]] == extra["choices"], where
                assert all(c["name"] for c in option["choices"]), where
            for bound in ("min_value", "max_value", "min_length", "max_length"):
                if bound in extra:
                    assert option.get(bound) == extra[bound], where


async def test_sync_exists_only_in_the_dev_guild_with_its_global_option(harness):
    (sync,) = [c for n, c in harness.server.registered(harness.guild).items() if n == "sync"]
    assert [(o["name"], o["type"], bool(o.get("required"))) for o in sync["options"]] == [
        ("global", 5, False)
    ]
    assert sync["description"] and sync["options"][0]["description"]
    assert "sync" not in harness.server.registered()


async def test_without_a_dev_guild_the_bot_says_how_to_register_commands(
    discord_server, guild, tmp_path, caplog
):
    runtime = await make_runtime(tmp_path, dev_guild=None, server=discord_server)
    bot, task = await start(runtime, discord_server)
    try:
        assert discord_server.registered(guild) == {} and discord_server.registered() == {}
        assert any(
            "no slash commands are registered" in r.getMessage() and "dev_guild" in r.getMessage()
            for r in caplog.records
        )
        caplog.clear()
        await bot.tree.sync()  # what /sync global:true did on an earlier run
        await bot._check_global_commands()
        assert not any("no slash commands" in r.getMessage() for r in caplog.records)
    finally:
        await stop(bot, task)
        await close_runtime(runtime)


async def test_the_bot_identifies_with_the_guilds_intent_only(harness):
    (session,) = harness.server.sessions.values()
    assert session.intents == discord.Intents(guilds=True).value == 1  # nothing privileged
