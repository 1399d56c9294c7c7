"""The fake's crosspost endpoint: announcement channels only, once per message, about 10 an
hour per channel, and the permission Discord asks for."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.fakes.discord import ChannelType, FakeDiscord, Guild, Perm
from tests.fakes.discord.crosspost import ALREADY_CROSSPOSTED, CROSSPOSTED


async def crosspost(server: FakeDiscord, channel_id: int, message_id: int) -> tuple[int, Any]:
    url = f"{server.api_base}/channels/{channel_id}/messages/{message_id}/crosspost"
    headers = {"Authorization": f"Bot {server.token}"}
    async with aiohttp.ClientSession() as session, session.post(url, headers=headers) as response:
        return response.status, await response.json()


def message_by(server: FakeDiscord, channel, author) -> int:
    message = server._new_message(channel, author, {"content": "hi"}, kind=0)
    return int(message["id"])


async def test_a_message_is_published_once(discord_server: FakeDiscord, guild: Guild) -> None:
    news = discord_server.add_channel(guild, "news", type=ChannelType.NEWS)
    message_id = message_by(discord_server, news, discord_server.bot_user)
    status, body = await crosspost(discord_server, news.id, message_id)
    assert status == 200 and body["flags"] & CROSSPOSTED
    status, body = await crosspost(discord_server, news.id, message_id)
    assert (status, body["code"]) == (400, ALREADY_CROSSPOSTED)
    assert [r.kind for r in discord_server.records_in(news)] == ["crosspost"]


async def test_the_eleventh_in_an_hour_is_told_to_wait_most_of_the_hour(
    discord_server: FakeDiscord, guild: Guild
) -> None:
    news = discord_server.add_channel(guild, "news", type=ChannelType.NEWS)
    answers = [
        await crosspost(
            discord_server, news.id, message_by(discord_server, news, discord_server.bot_user)
        )
        for _ in range(11)
    ]
    assert [status for status, _ in answers] == [200] * 10 + [429]
    assert answers[-1][1]["retry_after"] > 3500


async def test_another_members_message_needs_manage_messages(
    discord_server: FakeDiscord, guild: Guild
) -> None:
    news = discord_server.add_channel(guild, "news", type=ChannelType.NEWS)
    member = discord_server.add_member(guild, "writer")
    theirs = message_by(discord_server, news, member.user)
    status, _ = await crosspost(discord_server, news.id, theirs)
    assert status == 403
    role = discord_server.bot_role(guild)
    await discord_server.set_role_permissions(guild, role, role.permissions | Perm.MANAGE_MESSAGES)
    status, _ = await crosspost(discord_server, news.id, theirs)
    assert status == 200
