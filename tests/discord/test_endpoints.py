"""point_discord_at: where discord.py sends REST calls and opens the gateway."""

from __future__ import annotations

import asyncio

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.discord.endpoints import DISCORD_API_BASE, DISCORD_GATEWAY_URL, point_discord_at
from bot.errors import ConfigError


@pytest.fixture
def restore():
    yield
    point_discord_at(None, None)


def test_custom_endpoints_are_used_for_rest_and_gateway(restore):
    point_discord_at("http://127.0.0.1:9/api/v10/", "ws://127.0.0.1:9/gateway")
    assert Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
    assert yarl.URL("ws://127.0.0.1:9/gateway") == DiscordWebSocket.DEFAULT_GATEWAY


def test_none_restores_discords_own(restore):
    point_discord_at("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/gateway")
    point_discord_at(None, None)
    assert Route.BASE == DISCORD_API_BASE
    assert yarl.URL(DISCORD_GATEWAY_URL) == DiscordWebSocket.DEFAULT_GATEWAY


@pytest.mark.parametrize(
    ("api_base", "gateway_url"),
    [("ftp://x/api", None), (None, "http://x/gateway"), ("not a url", None)],
)
def test_a_url_of_the_wrong_kind_is_a_config_error(restore, api_base, gateway_url):
    with pytest.raises(ConfigError):
        point_discord_at(api_base, gateway_url)


async def test_an_answer_after_the_deadline_is_an_unknown_interaction(
    discord_server, guild, start_bot
):
    failures: list[Exception] = []

    class Slow(commands.Cog):
        @app_commands.command(name="slow", description="Answers too late")
        async def slow(self, interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.3)
            try:
                await interaction.response.send_message("late")
            except discord.NotFound as exc:
                failures.append(exc)

    await start_bot(Slow(), sync=guild)
    discord_server.interaction_deadline = 0.1
    member = discord_server.add_member(guild, "reader")
    with pytest.raises(TimeoutError):
        await discord_server.invoke(guild, member, "slow", timeout=0.5)
    await discord_server.wait_until(lambda: failures)
    assert failures[0].code == 10062
