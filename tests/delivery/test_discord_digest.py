"""Digest subscriptions: cron periods aligned to the hour, one message per period or none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.delivery.digest import Digests, digest_trigger, period_end
from bot.delivery.dispatcher import Dispatcher
from bot.model import DeliveryKind, DeliveryOutcome
from bot.store import Store
from tests.delivery.conftest import entry, snap

BASE = datetime(2024, 3, 1, 12, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("every", "next_fire"),
    [
        (900, datetime(2024, 3, 1, 12, 15, tzinfo=UTC)),
        (1800, datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        (3600, datetime(2024, 3, 1, 13, 0, tzinfo=UTC)),
        (6 * 3600, datetime(2024, 3, 1, 18, 0, tzinfo=UTC)),
        (86400, datetime(2024, 3, 2, 0, 0, tzinfo=UTC)),
    ],
)
def test_digest_periods_are_aligned_to_the_hour(every, next_fire):
    assert digest_trigger(every).get_next_fire_time(None, BASE) == next_fire


def test_a_period_ends_at_the_last_boundary_passed():
    start = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert period_end(3600, start, datetime(2024, 3, 1, 12, 59, tzinfo=UTC)) is None
    assert period_end(3600, start, datetime(2024, 3, 1, 13, 0, tzinfo=UTC)) == datetime(
        2024, 3, 1, 13, 0, tzinfo=UTC
    )
    # away for hours: the periods missed close as one, up to the last boundary passed
    assert period_end(3600, start, datetime(2024, 3, 1, 16, 30, tzinfo=UTC)) == datetime(
        2024, 3, 1, 16, 0, tzinfo=UTC
    )


@dataclass
class DigestRunner:
    """Closes the periods that have ended and posts their digests, as the bot's tick does."""

    digests: Digests
    dispatcher: Dispatcher
    store: Store
    guild_id: int

    async def run_digest(self, subscription_id: int) -> int | None:
        """The id of the digest message posted for the subscription now, or None."""
        seen = {a.id for a in await self.store.delivery_history(self.guild_id, limit=1000)}
        await self.digests.close_due()
        await self.dispatcher.drain()
        posted = [
            attempt.message_id
            for attempt in await self.store.delivery_history(self.guild_id, limit=1000)
            if attempt.id not in seen
            and attempt.kind is DeliveryKind.DIGEST
            and attempt.subscription_id == subscription_id
            and attempt.outcome is DeliveryOutcome.SENT
        ]
        return posted[0] if posted else None


@pytest.fixture
def digests(store, dispatcher, guild, clock):
    return DigestRunner(Digests(store, clock=clock), dispatcher, store, guild.id)


async def test_a_digest_lists_the_periods_updates_and_key_points(
    discord_server, guild, follow, digests, clock
):
    source = await follow(mode="digest", every=3600, baseline=snap(entry(0), key_points=("A",)))
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), entry(2), key_points=("A",)))
    clock.advance(minutes=50)
    await digests.run_digest(source.ids.subscription_id)
    (message,) = discord_server.messages_in(guild.system_channel_id)
    digest, key_points = message["embeds"]
    assert "2 updates" in digest["title"]
    assert "Update 1" in digest["description"] and "Update 2" in digest["description"]
    assert "A" in key_points["description"]


async def test_nothing_is_posted_when_nothing_happened(
    discord_server, guild, follow, digests, clock
):
    source = await follow(mode="digest", every=3600)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1)))
    clock.advance(minutes=50)
    await digests.run_digest(source.ids.subscription_id)
    clock.advance(hours=1)
    assert await digests.run_digest(source.ids.subscription_id) is None
    assert len(discord_server.messages_in(guild.system_channel_id)) == 1


async def test_digest_subscriptions_get_no_per_update_messages(
    discord_server, guild, follow, dispatcher, clock
):
    source = await follow(mode="digest", every=3600)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    assert discord_server.messages_in(guild.system_channel_id) == []


async def test_a_digest_sent_again_after_a_crash_posts_once(
    discord_server, guild, store, follow, digests, clock
):
    source = await follow(mode="digest", every=3600)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1)))
    # the digest went out but the process died before recording it
    sub = await store.get_subscription(source.ids.subscription_id)
    real = store.record_delivery

    async def crash(*args, **kwargs):
        raise RuntimeError("killed")

    store.record_delivery = crash
    clock.advance(minutes=50)
    await digests.run_digest(sub.id)  # the lane fails as a kill would stop it
    store.record_delivery = real
    await digests.run_digest(sub.id)
    assert len(discord_server.messages_in(guild.system_channel_id)) == 1


async def test_a_subscription_switched_away_from_digests_closes_no_more_periods(
    discord_server, guild, follow, digests, store, clock
):
    source = await follow(mode="digest", every=900)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1)))
    await store.subscribe(
        source.ids.story_id, guild_id=guild.id, channel_id=source.ids.channel_id, mode="updates"
    )
    clock.advance(minutes=20)
    assert await digests.digests.close_due() == 0
    assert await store.digest_subscriptions() == []


async def test_a_period_is_closed_once_however_many_tick(
    discord_server, guild, follow, store, clock
):
    source = await follow(mode="digest", every=3600)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1)))
    clock.advance(minutes=50)
    ticks = [Digests(store, clock=clock) for _ in range(3)]
    assert sum([await tick.close_due() for tick in ticks]) == 1
    digests = [
        row
        for row in await store.pending_deliveries(clock())
        if row.kind is DeliveryKind.DIGEST and row.subscription_id == source.ids.subscription_id
    ]
    assert len(digests) == 1


async def test_an_edit_of_an_update_shown_in_a_digest_becomes_a_correction(
    discord_server, guild, follow, digests, dispatcher, clock
):
    source = await follow(mode="digest", every=3600)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), entry(2)))
    clock.advance(minutes=50)
    await digests.run_digest(source.ids.subscription_id)
    clock.advance(minutes=5)
    await source.poll(snap(entry(0), entry(1, "Corrected text of update 1."), entry(2)))
    await dispatcher.drain()
    digest, correction = discord_server.messages_in(guild.system_channel_id)
    assert digest["edited_timestamp"] is None  # a digest is never edited
    assert correction["embeds"][0]["title"] == "Correction: Update 1"
    assert "Corrected text of update 1." in correction["embeds"][0]["description"]
    assert digest["id"] in correction["embeds"][0]["description"]  # links the digest


async def test_an_edit_before_the_digest_needs_no_correction(
    discord_server, guild, follow, digests, dispatcher, clock
):
    source = await follow(mode="digest", every=3600)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1)))
    clock.advance(minutes=5)
    await source.poll(snap(entry(0), entry(1, "Corrected text of update 1.")))
    await dispatcher.drain()
    assert discord_server.messages_in(guild.system_channel_id) == []
    clock.advance(minutes=45)
    await digests.run_digest(source.ids.subscription_id)
    (digest,) = discord_server.messages_in(guild.system_channel_id)
    assert "Update 1" in digest["embeds"][0]["description"]


async def test_switching_a_subscription_to_digest_starts_its_first_period_then(
    discord_server, guild, store, follow, digests, dispatcher, clock
):
    source = await follow()  # updates mode: each update is posted as it comes
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1)))
    await dispatcher.drain()
    clock.advance(minutes=10)
    await store.subscribe(
        source.ids.story_id,
        guild_id=guild.id,
        channel_id=source.ids.channel_id,
        mode="digest",
        every=3600,
        now=clock(),
    )
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), entry(2)))
    clock.advance(minutes=40)
    await digests.run_digest(source.ids.subscription_id)
    posted, digest = discord_server.messages_in(guild.system_channel_id)
    assert [e["title"] for e in posted["embeds"]] == ["Update 1"]
    assert "1 update" in digest["embeds"][0]["title"]
    assert "Update 2" in digest["embeds"][0]["description"]
    assert "Update 1" not in digest["embeds"][0]["description"]  # posted already


async def test_a_digest_in_thread_mode_goes_into_the_storys_thread(
    discord_server, guild, follow, digests, clock
):
    source = await follow(
        mode="digest", every=3600, thread=True, baseline=snap(entry(0), key_points=("A",))
    )
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), key_points=("A",)))
    clock.advance(minutes=50)
    await digests.run_digest(source.ids.subscription_id)
    (starter,) = discord_server.messages_in(guild.system_channel_id)
    assert starter["embeds"][0]["title"].startswith("Key points")
    thread_id = int(starter["thread"]["id"])
    (digest,) = discord_server.messages_in(thread_id)
    assert "Update 1" in digest["embeds"][0]["description"]

    # the key points change: the next digest goes to the same thread, the starter follows
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), entry(2), key_points=("A", "B")))
    clock.advance(minutes=50)
    await digests.run_digest(source.ids.subscription_id)
    assert len(discord_server.messages_in(thread_id)) == 2
    (starter,) = discord_server.messages_in(guild.system_channel_id)
    assert "B" in starter["embeds"][0]["description"]

    # a moderator deletes the thread: the next digest starts a new one instead of pausing
    await discord_server.delete_channel(discord_server.channels[thread_id])
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), entry(2), entry(3), key_points=("A", "B")))
    clock.advance(minutes=50)
    assert await digests.run_digest(source.ids.subscription_id) is not None
    _, new_starter = discord_server.messages_in(guild.system_channel_id)
    (digest,) = discord_server.messages_in(int(new_starter["thread"]["id"]))
    assert "Update 3" in digest["embeds"][0]["description"]


async def test_a_closed_period_survives_a_restart_and_is_posted_once(
    discord_server, guild, client, store, follow, clock, tmp_path
):
    from bot.delivery.discord_sink import DiscordSink
    from bot.delivery.limiter import RateLimiter
    from bot.store import open_store

    source = await follow(mode="digest", every=3600)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1)))
    clock.advance(minutes=50)
    assert await Digests(store, clock=clock).close_due() == 1
    await store.close()  # the process stops before the digest is posted

    reopened = await open_store(tmp_path / "bulletin.db")
    try:
        sink = DiscordSink(client, reopened, limiter=RateLimiter(500.0), clock=clock)
        await Dispatcher(reopened, {"discord": sink}, clock=clock).drain()
        assert await Digests(reopened, clock=clock).close_due() == 0  # closed already
        (digest,) = discord_server.messages_in(guild.system_channel_id)
        assert "Update 1" in digest["embeds"][0]["description"]
    finally:
        await reopened.close()
