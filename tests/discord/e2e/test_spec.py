"""Every request Bulletin sends is one Discord's API specification accepts.

The whole bot runs against the fake Discord, which checks each request body against its
reading of the specification (`tests/fakes/discord/spec.py`): the command registrations, every
command (autocomplete, deferrals, follow-ups, edits of replies, buttons, files both ways), and
every kind of delivery (updates that ping a role, edits in place, key points, a thread and its
starter, an announcement channel's publishes, an alert, "coverage ended"). No request may have
been refused, and every request with a body went to a route the specification table names."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

from bot.model import StoryStatus
from bot.sources.extract import extract
from tests.builders import finish, poll
from tests.discord.e2e.test_opml import confirm, run_import
from tests.fakes.discord import ChannelType, Perm
from tests.fakes.discord.spec import ENDPOINTS
from tests.services.opml_files import feed_outline, opml, rss_feed
from tests.services.pages import live_page

UPDATES = [("u1", "Parachute deployed", "The parachute opened over Jezero.")]


def _route_pattern(route: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\{[a-z_]+\}", "[^/]+", route) + "$")


ROUTES = [(method, _route_pattern(route)) for method, route in ENDPOINTS]


def checked(method: str, path: str) -> bool:
    return any(m == method and pattern.match(path) for m, pattern in ROUTES)


async def settled(h) -> None:
    """Wait until the outbox holds nothing more to send."""
    later = datetime.now(UTC)  # an edit throttled for a minute waits on purpose
    try:
        async with asyncio.timeout(10):
            while await h.store.pending_deliveries(later, targets=("discord",)):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    except TimeoutError:
        rows = await h.store.pending_deliveries(later, targets=("discord",))
        waiting = [(r.kind, r.subscription_id, r.attempts) for r in rows]
        raise AssertionError(f"still to deliver: {waiting}") from None


async def test_the_whole_bot_sends_only_what_discords_specification_accepts(harness):
    h, server, guild = harness, harness.server, harness.guild
    server.limits.message_create = (50, 1.0)
    mod = h.moderator()
    member = h.member("reader")
    news = server.add_channel(guild, "news", type=ChannelType.NEWS)
    threads = server.add_channel(guild, "threads")
    alerts = server.add_channel(guild, "alerts")
    plain = server.add_channel(guild, "plain")
    pings = server.add_role(guild, "Pings", mentionable=True)

    # a source added through /source add (the local live page), and read by the bot
    h.sources.page("/mars", live_page(updates=UPDATES, key_points=["Landing at 20:55"]))
    url = h.sources.url("/mars")
    added = await server.invoke(guild, mod, "source add", {"url": url, "story": "Mars"}, timeout=8)
    await added.wait_for(lambda i: i.followups, timeout=8)
    (story,) = await h.store.stories_for_guild(guild.id)
    (source,) = await h.store.sources_of_story(story.id)

    await server.autocomplete(guild, mod, "subscribe", {"story": "Ma"}, "story")
    for options in (
        {"channel": news, "publish": True},
        {"channel": threads, "thread": True, "mention": pings, "keywords": "rover, lander"},
        {"channel": guild.system_channel_id, "mode": "digest", "every": "1h", "backfill": 1},
        {"channel": plain},
    ):
        channel = options.pop("channel")
        if isinstance(channel, int):
            channel = guild.channels[channel]
        inv = await server.invoke(
            guild, mod, "subscribe", {"story": "Mars", "channel": channel, **options}
        )
        assert "follows" in inv.callbacks[0]["data"]["content"], inv.callbacks
    await server.invoke(guild, mod, "settings alerts", {"channel": alerts})

    # deliveries: a new update that pings, an edit in place, key points, coverage ended
    now = datetime.now(UTC)
    more = [*UPDATES, ("u2", "Rover wakes up", "The lander and the rover both answer.")]
    snapshot = extract(
        live_page(updates=more, key_points=["Landing at 20:55"]), content_type="text/html", url=url
    )
    await poll(h.store, source.id, snapshot, now=now)
    h.runtime.delivery_wakeup.set()
    await settled(h)
    edited = [*UPDATES, ("u2", "Rover wakes up", "The lander and the rover both answer, loudly.")]
    points = ["Landing at 20:55", "The rover is awake"]
    snapshot = extract(
        live_page(updates=edited, key_points=points), content_type="text/html", url=url
    )
    await poll(h.store, source.id, snapshot, now=now)
    await finish(h.store, source.id, now=now, next_check=now, status=StoryStatus.ENDED)
    h.runtime.delivery_wakeup.set()
    await settled(h)

    # a subscription Discord refuses: paused, and the alert goes out
    await server.set_overwrite(plain, server.bot_role(guild), deny=Perm.VIEW_CHANNEL)
    more.append(("u3", "Lander photo", "The lander sends a photo of the rover."))
    snapshot = extract(
        live_page(updates=more, key_points=points), content_type="text/html", url=url
    )
    await poll(h.store, source.id, snapshot, now=now)
    h.runtime.delivery_wakeup.set()
    await settled(h)
    alert_text = "Bulletin paused posting"
    await server.wait_until(
        lambda: any(alert_text in m["content"] for m in server.messages_in(alerts)), timeout=5
    )

    # every command a member or a moderator has
    for name, options in (
        ("help", {}),
        ("stories", {}),
        ("latest", {"story": "Mars", "count": 3}),
        ("keypoints", {"story": "Mars"}),
        ("subscriptions", {}),
        ("deliveries", {"story": "Mars"}),
        ("why", {"story": "Mars", "update": "Rover wakes up"}),
        ("source list", {}),
        ("source status", {"story": "Mars"}),
        ("source pause", {"story": "Mars"}),
        ("source resume", {"story": "Mars"}),
        ("source export", {}),
    ):
        await server.invoke(guild, mod, name, options, timeout=8)
    await server.invoke(guild, member, "latest", {"story": "Mars"})
    await server.autocomplete(guild, mod, "why", {"story": "Mars", "update": "Ro"}, "update")
    h.sources.page("/feed.xml", rss_feed("Feed"), content_type="application/rss+xml")
    plan = await run_import(h, opml(feed_outline("Feed", h.sources.url("/feed.xml"))))
    await confirm(h, plan)
    await server.invoke(guild, mod, "unsubscribe", {"story": "Mars", "channel": news})

    assert server.violations == []
    sent = [(m, p) for m, p, _ in server.requests if m in ("POST", "PATCH", "PUT")]
    assert sent and all(checked(m, p) for m, p in sent), [x for x in sent if not checked(*x)]
    kinds = {
        (m, pattern.pattern)
        for m, p in sent
        for mm, pattern in ROUTES
        if mm == m and pattern.match(p)
    }
    # the requests that matter were made, so that the check above proves something
    for method, route in (
        ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands"),
        ("POST", "/channels/{channel_id}/messages"),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
        ("POST", "/channels/{channel_id}/messages/{message_id}/threads"),
        ("POST", "/channels/{channel_id}/messages/{message_id}/crosspost"),
        ("POST", "/interactions/{interaction_id}/{token}/callback"),
        ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}"),
    ):
        assert (method, _route_pattern(route).pattern) in kinds, route
    assert any(
        r.request and r.request.get("allowed_mentions", {}).get("roles") == [str(pings.id)]
        for r in server.records
    )
