"""/subscribe, /unsubscribe, /subscriptions through the real bot and the fake Discord."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.model import PauseReason
from bot.services.common import MAX_SUBSCRIPTIONS_PER_GUILD
from bot.sources.extract import extract
from tests.builders import poll
from tests.fakes.discord import Perm
from tests.services.pages import live_page

NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


async def polled_story(h, name="Mars"):
    story = await h.store.ensure_story(name, guild_id=h.guild.id)
    url = f"https://news.test/{name.lower()}"
    source = await h.store.add_source(story, url)
    snapshot = extract(live_page(), content_type="text/html", url=url)
    await poll(h.store, source, snapshot, now=NOW)
    return story


def content(inv) -> str:
    return inv.callbacks[0]["data"].get("content") or ""


async def subscribe(h, member=None, **options):
    options.setdefault("story", "Mars")
    return await h.server.invoke(h.guild, member or h.moderator(), "subscribe", options)


async def test_subscribe_this_channel_with_defaults(harness):
    story = await polled_story(harness)
    inv = await subscribe(harness)
    assert inv.ephemeral and inv.answered_after < 3.0
    assert content(inv) == f"<#{harness.guild.system_channel_id}> now follows “Mars” (updates)."
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    assert (sub.story_id, sub.channel_id, sub.mode) == (
        story,
        harness.guild.system_channel_id,
        "updates",
    )


async def test_subscribing_again_changes_the_subscription(harness):
    await polled_story(harness)
    news = harness.server.add_channel(harness.guild, "news")
    await subscribe(harness, channel=news)
    pings = harness.server.add_role(harness.guild, "Pings", mentionable=True)
    inv = await subscribe(
        harness, channel=news, mode="digest", mention=pings, keywords="Lander,  jezero crater"
    )
    assert "settings changed" in content(inv) and "every 6h" in content(inv)
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    assert (sub.mode, sub.every, sub.mention_role_id) == ("digest", 6 * 3600, pings.id)
    assert sub.keywords == "Lander, jezero crater"


async def test_subscribing_again_resumes_a_paused_subscription_and_says_so(harness):
    await polled_story(harness)
    await subscribe(harness)
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    await harness.store.pause_subscription(
        sub.id, reason=PauseReason.NO_PERMISSION, detail="Discord said 403", now=NOW
    )
    inv = await subscribe(harness)
    assert content(inv) == (
        f"<#{harness.guild.system_channel_id}> follows “Mars” again (updates); what waited "
        "while it was paused is posted now."
    )
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    assert sub.paused_at is None and sub.pause_reason is None


@pytest.mark.parametrize(
    ("role", "member_may", "bot_may", "refusal"),
    [
        ("@everyone", True, True, "Bulletin never pings @everyone"),
        ("Admins", False, True, "You cannot mention @Admins yourself (it is not mentionable)"),
        ("Admins", True, False, "Bulletin cannot ping @Admins there: the role is not mentionable"),
        ("Admins", True, True, None),
    ],
)
async def test_a_role_is_pinged_only_if_member_and_bot_may_mention_it(
    harness, role, member_may, bot_may, refusal
):
    await polled_story(harness)
    guild = harness.guild
    target = guild.roles[guild.id] if role == "@everyone" else harness.server.add_role(guild, role)
    granted = Perm.MENTION_EVERYONE if member_may else 0
    mod = harness.member("mod", Perm.MANAGE_CHANNELS | granted)
    if bot_may:
        await harness.server.set_role_permissions(
            guild,
            harness.server.bot_role(guild),
            harness.server.bot_role(guild).permissions | Perm.MENTION_EVERYONE,
        )
    inv = await subscribe(harness, member=mod, mention=target)
    subs = await harness.store.subscriptions(guild_id=guild.id)
    if refusal is None:
        assert "now follows" in content(inv) and subs[0].mention_role_id == target.id
    else:
        assert inv.ephemeral and refusal in content(inv) and subs == []


async def test_every_without_digest_mode_is_refused(harness):
    await polled_story(harness)
    inv = await subscribe(harness, every="1h")
    assert "only for digests" in content(inv)
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


@pytest.mark.parametrize(
    ("deny", "thread", "named"),
    [
        (Perm.EMBED_LINKS, False, "Embed Links"),
        (Perm.SEND_MESSAGES, False, "Send Messages and Embed Links"),
        (Perm.VIEW_CHANNEL, False, "View Channel, Send Messages and Embed Links"),
        (Perm.CREATE_PUBLIC_THREADS, True, "Create Public Threads"),
        (Perm.SEND_MESSAGES_IN_THREADS, True, "Send Messages in Threads"),
    ],
)
async def test_subscribe_names_the_permissions_the_bot_lacks(harness, deny, thread, named):
    await polled_story(harness)
    news = harness.server.add_channel(harness.guild, "news")
    await harness.server.set_overwrite(news, harness.server.bot_role(harness.guild), deny=deny)
    inv = await subscribe(harness, channel=news, thread=thread)
    assert f"it needs {named} there" in content(inv)
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


async def test_thread_permissions_are_not_needed_without_thread(harness):
    await polled_story(harness)
    news = harness.server.add_channel(harness.guild, "news")
    await harness.server.set_overwrite(
        news, harness.server.bot_role(harness.guild), deny=Perm.CREATE_PUBLIC_THREADS
    )
    inv = await subscribe(harness, channel=news)
    assert "now follows" in content(inv)


async def test_member_without_manage_channels_in_the_target_channel_is_refused(harness):
    await polled_story(harness)
    mod = harness.moderator()
    locked = harness.server.add_channel(harness.guild, "locked")
    await harness.server.set_overwrite(locked, mod, deny=Perm.MANAGE_CHANNELS)
    inv = await subscribe(harness, member=mod, channel=locked)
    assert "You need the Manage Channels permission in" in content(inv)
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


async def test_backfill_posts_the_latest_updates_oldest_first(harness):
    await polled_story(harness)
    inv = await subscribe(harness, backfill=2)
    assert "The latest 2 updates will be posted shortly" in content(inv)
    channel = harness.guild.system_channel_id

    def titles() -> list[str]:
        return [
            e["title"] for m in harness.server.messages_in(channel) for e in m.get("embeds", [])
        ]

    # the bot's delivery (woken by the command) posts them
    await harness.server.wait_until(lambda: len(titles()) >= 2, 5)
    assert titles() == ["Parachute opens", "Touchdown confirmed"]
    assert await harness.store.pending_deliveries(datetime.now(UTC)) == []


async def test_backfill_asked_again_posts_nothing_twice(harness):
    await polled_story(harness)
    await subscribe(harness, backfill=2)
    channel = harness.guild.system_channel_id
    await harness.server.wait_until(lambda: len(harness.server.messages_in(channel)) >= 1, 5)
    inv = await subscribe(harness, backfill=2, mode="key-points")
    assert content(inv).endswith("The latest updates were posted here already.")
    assert await harness.store.pending_deliveries(datetime.now(UTC)) == []
    titles = [e["title"] for m in harness.server.messages_in(channel) for e in m["embeds"]]
    assert titles == ["Parachute opens", "Touchdown confirmed"]


async def test_backfill_with_keywords_posts_only_matches_and_says_when_none(harness):
    await polled_story(harness)
    inv = await subscribe(harness, backfill=5, keywords="crater")
    assert "The latest 2 updates will be posted shortly" in content(inv)
    news = harness.server.add_channel(harness.guild, "news")
    inv = await subscribe(harness, channel=news, backfill=5, keywords="volcano")
    assert "No recent update passes its filters, so there is nothing to backfill" in content(inv)


async def test_subscription_quota_refuses_a_new_one(harness):
    story = await polled_story(harness)
    for n in range(MAX_SUBSCRIPTIONS_PER_GUILD):
        await harness.store.subscribe(story, guild_id=harness.guild.id, channel_id=10_000 + n)
    inv = await subscribe(harness)
    assert f"{MAX_SUBSCRIPTIONS_PER_GUILD} subscriptions already" in content(inv)


async def test_unsubscribe_removes_it(harness):
    await polled_story(harness)
    await subscribe(harness)
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "unsubscribe", {"story": "Mars"}
    )
    assert "no longer follows “Mars”" in content(inv)
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


async def test_unsubscribe_what_was_not_followed_says_so(harness):
    await polled_story(harness)
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "unsubscribe", {"story": "Mars"}
    )
    assert inv.ephemeral and "No channel here follows “Mars”" in content(inv)


async def test_unsubscribe_in_the_wrong_channel_names_the_channels_that_follow(harness):
    await polled_story(harness)
    news = harness.server.add_channel(harness.guild, "news")
    await subscribe(harness, channel=news)
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "unsubscribe", {"story": "Mars"}
    )
    assert inv.ephemeral
    assert content(inv) == (
        f"<#{harness.guild.system_channel_id}> does not follow “Mars”; <#{news.id}> does: "
        "pick one with the `channel` option."
    )
    assert len(await harness.store.subscriptions(guild_id=harness.guild.id)) == 1


async def test_a_deleted_channels_subscription_is_reported_and_can_be_removed(harness):
    story = await polled_story(harness)
    news = harness.server.add_channel(harness.guild, "news")
    await subscribe(harness, channel=news)
    await harness.server.delete_channel(news)
    await harness.server.wait_until(lambda: harness.bot.get_channel(news.id) is None)
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    await harness.store.pause_subscription(
        sub.id,
        reason=PauseReason.CHANNEL_GONE,
        detail="Discord said 404 10003: Unknown Channel",
        now=NOW,
    )
    listed = await harness.server.invoke(harness.guild, harness.moderator(), "subscriptions")
    assert "stopped: the channel was deleted" in content(listed)
    assert "/unsubscribe without a channel removes it" in content(listed)
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "unsubscribe", {"story": "Mars"}
    )
    assert content(inv) == "Removed the subscription to “Mars” of 1 deleted channel."
    assert await harness.store.subscriptions(guild_id=harness.guild.id, story_id=story) == []


async def test_subscriptions_show_health_with_the_pause_reason(harness):
    await polled_story(harness)
    await subscribe(harness)
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    await harness.store.pause_subscription(
        sub.id, reason=PauseReason.NO_PERMISSION, detail="Discord said 403", now=NOW
    )
    inv = await harness.server.invoke(harness.guild, harness.moderator(), "subscriptions")
    assert "**Mars**" in content(inv)
    assert "paused: Bulletin may no longer post there (Discord said 403)" in content(inv)


async def test_subscriptions_of_another_server_are_not_listed(harness):
    await polled_story(harness)
    await subscribe(harness)
    other = await harness.second_guild()
    inv = await harness.server.invoke(other, harness.moderator(other), "subscriptions")
    assert "No channel here follows a story yet" in content(inv)
