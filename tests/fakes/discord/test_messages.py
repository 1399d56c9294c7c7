"""Messages through the fake with discord.py's HTTP code: limits, rate limits, nonces, faults."""

from __future__ import annotations

import discord
import pytest

from tests.fakes.discord import Perm


@pytest.fixture
async def bot(start_bot):
    return await start_bot()


@pytest.fixture
def general(bot, guild):
    return bot.get_channel(guild.system_channel_id)


async def test_a_sent_message_is_recorded_with_its_embed(discord_server, guild, general):
    sent = await general.send("hello", embed=discord.Embed(title="Update", description="Text"))
    message = await discord_server.next_message(guild.system_channel_id)
    assert message["id"] == str(sent.id)
    assert message["embeds"][0]["title"] == "Update"


@pytest.mark.parametrize(
    "embed",
    [
        discord.Embed(title="t" * 257),
        discord.Embed(description="d" * 4097),
        discord.Embed(description="d" * 4000).set_footer(text="f" * 2001),
    ],
    ids=["title", "description", "total"],
)
async def test_an_oversized_embed_is_refused_with_50035(discord_server, guild, general, embed):
    discord_server.violations_expected = True
    with pytest.raises(discord.HTTPException) as caught:
        await general.send(embed=embed)
    assert (caught.value.status, caught.value.code) == (400, 50035)
    assert discord_server.messages_in(guild.system_channel_id) == []
    [violation] = discord_server.violations
    assert "embeds" in violation.errors


async def test_a_429_is_waited_out_and_the_message_arrives_once(discord_server, guild, general):
    discord_server.inject("POST", "/channels/*/messages", status=429, retry_after=0.2)
    await general.send("after the limit")
    assert [m["content"] for m in discord_server.messages_in(guild.system_channel_id)] == [
        "after the limit"
    ]
    assert discord_server.count("POST", "/channels/*/messages", status=429) == 1


async def test_a_5xx_is_retried_by_discord_py(discord_server, guild, general):
    discord_server.inject("POST", "/channels/*/messages", status=502)
    await general.send("through the storm")
    assert len(discord_server.messages_in(guild.system_channel_id)) == 1
    assert discord_server.count("POST", "/channels/*/messages") == 2


async def test_a_nonce_resent_within_the_window_returns_the_first_message(
    discord_server, guild, general
):
    first = await general.send("once", nonce="delivery-17")
    again = await general.send("once", nonce="delivery-17")
    assert again.id == first.id
    assert len(discord_server.messages_in(guild.system_channel_id)) == 1


async def test_a_nonce_resent_after_the_window_posts_again(discord_server, guild, general):
    first = await general.send("once", nonce="delivery-18")
    discord_server.advance_clock(discord_server.nonce_window + 1)
    again = await general.send("once", nonce="delivery-18")
    assert again.id != first.id


async def test_without_send_messages_the_bot_gets_403_50013(discord_server, guild, bot):
    quiet = discord_server.add_channel(guild, "quiet")
    await discord_server.set_overwrite(quiet, guild.everyone, deny=Perm.SEND_MESSAGES)
    await discord_server.flush()
    await discord_server.wait_until(lambda: bot.get_channel(quiet.id) is not None)
    with pytest.raises(discord.Forbidden) as caught:
        await bot.get_channel(quiet.id).send("hello")
    assert caught.value.code == 50013


async def test_permission_changes_reach_the_bot(discord_server, guild, bot):
    channel = bot.get_channel(guild.system_channel_id)
    assert channel.permissions_for(channel.guild.me).send_messages
    await discord_server.set_role_permissions(guild, discord_server.bot_role(guild), 0)
    await discord_server.set_overwrite(
        discord_server.channels[guild.system_channel_id], guild.everyone, deny=Perm.SEND_MESSAGES
    )
    await discord_server.wait_until(
        lambda: not channel.permissions_for(channel.guild.me).send_messages
    )
    with pytest.raises(discord.Forbidden):
        await channel.send("hello")


async def test_a_deleted_channel_is_gone_for_the_bot_and_sends_get_404(discord_server, guild, bot):
    doomed_fake = discord_server.add_channel(guild, "doomed")
    await discord_server.flush()
    await discord_server.wait_until(lambda: bot.get_channel(doomed_fake.id) is not None)
    doomed = bot.get_channel(doomed_fake.id)
    await discord_server.delete_channel(doomed_fake)
    await discord_server.wait_until(lambda: bot.get_channel(doomed_fake.id) is None)
    with pytest.raises(discord.NotFound):
        await doomed.send("hello")


async def test_a_thread_started_from_a_message_takes_messages(discord_server, guild, general):
    starter = await general.send("Key points")
    thread = await starter.create_thread(name="Mars landing")
    await thread.send("first update")
    assert thread.parent_id == guild.system_channel_id
    assert (await discord_server.next_message(thread.id))["content"] == "first update"


async def test_a_message_to_an_archived_thread_unarchives_it_unless_locked(
    discord_server, guild, general
):
    starter = await general.send("Key points")
    thread = await starter.create_thread(name="Mars landing")
    fake = discord_server.channels[thread.id]
    await discord_server.archive_thread(fake)
    await thread.send("the story goes on")
    assert not fake.archived
    await discord_server.archive_thread(fake, locked=True)
    with pytest.raises(discord.HTTPException) as caught:
        await thread.send("no more")
    assert (caught.value.status, caught.value.code) == (400, 50083)


async def test_messages_are_edited_fetched_and_deleted(discord_server, guild, general):
    sent = await general.send("draft")
    await sent.edit(content="final")
    fetched = await general.fetch_message(sent.id)
    assert fetched.content == "final" and fetched.edited_at is not None
    await sent.delete()
    kinds = [r.kind for r in discord_server.records_in(guild.system_channel_id)]
    assert kinds == ["create", "edit", "delete"]
