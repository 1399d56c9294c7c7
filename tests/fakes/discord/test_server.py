"""The fake Discord alone: permission arithmetic, message limits, rate-limit headers (raw HTTP)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.fakes.discord import FakeDiscord, Overwrite, Perm, RateLimits, validate_message
from tests.fakes.discord.model import ChannelType

V, S, E = Perm.VIEW_CHANNEL, Perm.SEND_MESSAGES, Perm.EMBED_LINKS


def world():
    server = FakeDiscord()
    guild = server.add_guild("G", everyone=V | S | E)
    mods = server.add_role(guild, "Mods", Perm.MANAGE_CHANNELS)
    muted = server.add_role(guild, "Muted")
    member = server.add_member(guild, "m", roles=[mods, muted])
    return server, guild, mods, muted, member


@pytest.mark.parametrize(
    ("overwrites", "expected_send", "expected_view"),
    [
        ([], True, True),
        ([("everyone", 0, S)], False, True),
        ([("everyone", 0, V)], False, False),
        # a role allow beats an @everyone deny
        ([("everyone", 0, S), ("mods", S, 0)], True, True),
        # role allows win over role denies at the same level
        ([("mods", S, 0), ("muted", 0, S)], True, True),
        ([("muted", 0, S)], False, True),
        # the member's own overwrite comes last
        ([("muted", 0, S), ("member", S, 0)], True, True),
        ([("mods", S, 0), ("member", 0, S)], False, True),
    ],
)
def test_channel_overwrites_apply_in_discord_order(overwrites, expected_send, expected_view):
    server, guild, mods, muted, member = world()
    ids = {"everyone": (guild.id, 0), "mods": (mods.id, 0), "muted": (muted.id, 0)}
    ids["member"] = (member.id, 1)
    channel = server.add_channel(
        guild,
        "c",
        overwrites=[Overwrite(*ids[who], allow, deny) for who, allow, deny in overwrites],
    )
    perms = guild.permissions_in(member, channel)
    assert bool(perms & S) is expected_send
    assert bool(perms & V) is expected_view


def test_administrator_ignores_overwrites():
    server, guild, mods, _, member = world()
    mods.permissions |= Perm.ADMINISTRATOR
    channel = server.add_channel(guild, "c", overwrites=[Overwrite(guild.id, 0, 0, V | S)])
    assert guild.permissions_in(member, channel) == Perm.ALL


def test_the_owner_has_every_permission():
    server, guild, *_ = world()
    owner = guild.members[guild.owner_id]
    channel = server.add_channel(guild, "c", overwrites=[Overwrite(guild.id, 0, 0, V | S)])
    assert guild.permissions_in(owner, channel) == Perm.ALL


def test_without_send_messages_embed_links_is_lost_too():
    server, guild, _, _, member = world()
    channel = server.add_channel(guild, "c", overwrites=[Overwrite(guild.id, 0, 0, S)])
    assert not guild.permissions_in(member, channel) & E


def test_a_thread_takes_its_parents_overwrites():
    server, guild, _, _, member = world()
    parent = server.add_channel(guild, "c", overwrites=[Overwrite(guild.id, 0, 0, S)])
    thread = server.add_channel(guild, "t", type=ChannelType.PUBLIC_THREAD)
    thread.parent_id = parent.id
    assert not guild.permissions_in(member, thread) & S


@pytest.mark.parametrize(
    ("payload", "bad_key"),
    [
        ({"content": "x" * 2001}, "content"),
        ({"content": ""}, "content"),
        ({"embeds": [{"title": "t"}] * 11}, "embeds"),
        ({"embeds": [{"title": "t" * 257}]}, "embeds"),
        ({"embeds": [{"description": "d" * 4097}]}, "embeds"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, "embeds"),
        ({"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]}, "embeds"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, "embeds"),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, "embeds"),
        ({"embeds": [{"author": {"name": "a" * 257}}]}, "embeds"),
        ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, "embeds"),
    ],
)
def test_payloads_over_discords_limits_are_named(payload, bad_key):
    errors = validate_message(payload)
    assert errors is not None and bad_key in errors


@pytest.mark.parametrize(
    "payload",
    [
        {"content": "x" * 2000},
        {"embeds": [{"description": "d" * 4096, "title": "t" * 256}]},
        {"embeds": [{"description": "d" * 3000}, {"description": "d" * 3000}]},
    ],
)
def test_payloads_at_the_limits_pass(payload):
    assert validate_message(payload) is None


@pytest.fixture
async def raw():
    server = FakeDiscord(limits=RateLimits(global_per_second=1000, message_create=(2, 5.0)))
    await server.start()
    guild = server.add_guild("G", bot_permissions=V | S)
    headers = {"Authorization": f"Bot {server.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        yield server, guild, http
    await server.close()


async def test_message_create_carries_rate_limit_headers_then_429s(raw):
    server, guild, http = raw
    url = f"{server.api_base}/channels/{guild.system_channel_id}/messages"
    statuses, remaining = [], []
    for _ in range(3):
        async with http.post(url, json={"content": "hi"}) as resp:
            statuses.append(resp.status)
            remaining.append(resp.headers["X-RateLimit-Remaining"])
            body = await resp.json()
            last = resp
    assert statuses == [200, 200, 429]
    assert remaining == ["1", "0", "0"]
    assert last.headers["X-RateLimit-Scope"] == "user"
    assert last.headers["X-RateLimit-Limit"] == "2"
    assert 0 < body["retry_after"] <= 5 and body["global"] is False


async def test_the_global_limit_answers_429_with_the_global_headers(raw):
    server, _, http = raw
    server.limits.global_per_second = 1
    async with http.get(f"{server.api_base}/users/@me") as first:
        assert first.status == 200
    async with http.get(f"{server.api_base}/users/@me") as second:
        assert second.status == 429
        assert second.headers["X-RateLimit-Global"] == "true"
        assert second.headers["X-RateLimit-Scope"] == "global"
        assert (await second.json())["global"] is True


async def test_a_wrong_token_gets_401(raw):
    server, _, http = raw
    async with http.get(f"{server.api_base}/users/@me", headers={"Authorization": "Bot nope"}) as r:
        assert r.status == 401


@pytest.mark.parametrize(("status", "code"), [(403, 50013), (404, 10003), (503, 0)])
async def test_injected_faults_answer_once_then_clear(raw, status, code):
    server, guild, http = raw
    server.inject("GET", "/channels/*", status=status)
    url = f"{server.api_base}/channels/{guild.system_channel_id}"
    async with http.get(url) as first:
        assert (first.status, (await first.json())["code"]) == (status, code)
    async with http.get(url) as second:
        assert second.status == 200


async def test_a_slow_fault_delays_without_failing(raw):
    server, guild, http = raw
    server.inject("GET", "/channels/*", status=None, delay=0.2)
    async with http.get(f"{server.api_base}/channels/{guild.system_channel_id}") as resp:
        assert resp.status == 200
    assert server.faults[0].times == 0
