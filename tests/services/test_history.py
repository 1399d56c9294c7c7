"""What /why and /deliveries say, from what the store recorded: digests, first reads, notes,
edits, and each outcome of the delivery history (no Discord: the services alone)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery.digest import Digests
from bot.model import DeliveryKind, DeliveryOutcome, FailureReason, PauseReason
from bot.outcome import Sent, Shown
from bot.services import history
from bot.services.common import Refusal
from bot.store import DeliveryAttempt
from tests.builders import T0, Clock, entry, poll, snap

GUILD = 1
LATER = T0 + timedelta(minutes=5)
FERRY = entry(2, "The ferry resumes at noon.", title="Ferry resumes")


def ts(moment) -> int:
    return int(moment.timestamp())


async def story_of(store, name="S", guild_id=GUILD):
    story = await store.ensure_story(name, guild_id=guild_id, now=T0)
    source = await store.add_source(story, f"https://ex.org/{name}", now=T0)
    return story, source


async def why(store, update="Ferry resumes", now=LATER, name="S"):
    return await history.why(store, GUILD, name, update, now=now)


async def test_an_update_shown_in_a_digest_links_to_the_digest_of_its_period(store):
    story, source = await story_of(store)
    await store.subscribe(story, guild_id=GUILD, channel_id=10, mode="digest", every=3600, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY), LATER)
    hour = T0 + timedelta(hours=1)
    assert (await why(store))[1] == f"<#10> (digest): to be in the digest of <t:{ts(hour)}:t>"
    clock = Clock(hour + timedelta(seconds=30))
    assert await Digests(store, clock=clock).close_due() == 1
    waiting = (await why(store, now=clock()))[1]
    assert waiting.startswith(
        f"<#10> (digest): the digest of <t:{ts(hour)}:t>: waiting to be posted"
    )
    (row,) = await store.pending_deliveries(clock())
    shown = Shown(((source, "e2"),), digest=True)
    await store.record_delivery([row], Sent(555, 10, effects=(shown,)), now=clock())
    assert (await why(store, now=clock()))[1] == (
        f"<#10> (digest): in the digest of <t:{ts(clock())}:t> "
        f"https://discord.com/channels/{GUILD}/10/555"
    )


async def test_an_update_of_a_sources_first_read_was_a_baseline(store):
    story, _ = await story_of(store)
    await store.subscribe(story, guild_id=GUILD, channel_id=10, now=T0)
    later_source = await store.add_source(story, "https://ex.org/second", now=LATER)
    await poll(store, later_source, snap(FERRY), LATER)
    assert (await why(store))[1] == (
        "<#10> (updates): seen in the first read of its source (the baseline): a first read "
        "posts nothing"
    )


async def test_updates_left_out_of_a_big_poll_say_so(store):
    story, source = await story_of(store)
    await store.subscribe(story, guild_id=GUILD, channel_id=10, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY), LATER)
    (row,) = await store.pending_deliveries(LATER)
    note = "left out: 40 new updates at once; the newest 30 were posted"
    await store.record_delivery([row], Sent(note=note), now=LATER)
    assert (await why(store))[1] == f"<#10> (updates): not posted: {note}"


async def test_an_edit_left_out_is_told_beside_what_happened_to_the_update(store):
    story, source = await story_of(store)
    await store.subscribe(story, guild_id=GUILD, channel_id=10, keywords="ferry", now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY), LATER)
    await poll(store, source, snap(entry(1), entry(2, "Buses instead.", title="No boats")), LATER)
    line = (await why(store, update="No boats"))[1]
    assert line.startswith("<#10> (updates): waiting to be posted (queued <t:")
    assert line.endswith("left out by its keywords (“ferry”: none of them is in it))")


async def test_nothing_recorded_is_said_plainly(store):
    story, source = await story_of(store)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), FERRY), LATER)
    await store.subscribe(story, guild_id=GUILD, channel_id=10, now=T0)  # made "before" it
    (sub,) = await store.subscriptions(guild_id=GUILD)
    assert sub.created_at == T0
    assert (await why(store))[1].startswith("<#10> (updates): nothing recorded for this channel")


async def test_no_subscription_here_is_a_refusal_that_says_what_to_do(store):
    _, source = await story_of(store)
    await poll(store, source, snap(entry(1), FERRY))
    with pytest.raises(Refusal, match=r"No channel here follows “S”.*/subscribe starts one"):
        await why(store)


async def test_an_update_of_another_story_cannot_be_picked_by_its_key(store):
    mine, source = await story_of(store)
    await store.subscribe(mine, guild_id=GUILD, channel_id=10, now=T0)
    await poll(store, source, snap(entry(1)))
    _, theirs = await story_of(store, name="T", guild_id=2)
    await poll(store, theirs, snap(FERRY))
    (record,) = await store.latest_entries((await store.stories_for_guild(2))[0].id)
    with pytest.raises(Refusal, match="None of the 100 newest updates of “S”"):
        await why(store, update=history.update_key(record))


async def test_autocomplete_names_fit_discord_and_keys_pick_the_update(store):
    story, source = await story_of(store)
    await store.subscribe(story, guild_id=GUILD, channel_id=10, now=T0)
    long = entry(3, title="A very long title " * 20)
    await poll(store, source, snap(entry(1), FERRY, long, entry(4, title="")))
    choices = await history.update_choices(store, GUILD, "S", "", limit=25, name_limit=100)
    assert all(len(name) <= 100 and len(value) <= 100 for name, value in choices)
    assert [name.split(" · ")[0][:12] for name, _ in choices] == [
        "Text of upda",  # an untitled update: the start of its text
        "A very long ",
        "Ferry resume",
        "Update 1",
    ]
    ferry = choices[2][1]
    assert (await why(store, update=ferry))[0].startswith("**Why: “Ferry resumes”**")


def attempt(outcome, **fields) -> DeliveryAttempt:
    base = {
        "id": 1,
        "delivery_id": 1,
        "subscription_id": 1,
        "story_id": 1,
        "guild_id": GUILD,
        "channel_id": 10,
        "kind": DeliveryKind.NEW,
        "source_id": 1,
        "entry_id": "e2",
        "title": "Ferry resumes",
        "at": T0,
        "outcome": outcome,
        "reason": None,
        "detail": None,
        "message_id": None,
        "next_attempt": None,
    }
    return DeliveryAttempt(**(base | fields))


@pytest.mark.parametrize(
    ("made", "said"),
    [
        (
            attempt(DeliveryOutcome.SENT, message_id=99),
            "“Ferry resumes” → <#10>: posted https://discord.com/channels/1/10/99",
        ),
        (
            attempt(DeliveryOutcome.SENT, kind=DeliveryKind.STATUS, detail="not announced"),
            "story status → <#10>: nothing posted: not announced",
        ),
        (
            attempt(
                DeliveryOutcome.RETRY,
                kind=DeliveryKind.KEY_POINTS,
                reason=FailureReason.RATE_LIMITED.value,
                next_attempt=LATER,
            ),
            f"key points → <#10>: waiting: next attempt <t:{ts(LATER)}:R>; last error: rate "
            "limited by Discord",
        ),
        (
            attempt(
                DeliveryOutcome.PAUSED,
                kind=DeliveryKind.DIGEST,
                reason=PauseReason.CHANNEL_GONE.value,
                detail="Discord said 404",
            ),
            "digest → <#10>: paused: the channel was deleted (Discord said 404) — /unsubscribe "
            "without a channel removes it",
        ),
        (
            attempt(
                DeliveryOutcome.GIVEN_UP,
                kind=DeliveryKind.EDITED,
                reason=FailureReason.TOO_MANY_ATTEMPTS.value,
            ),
            "edit of “Ferry resumes” → <#10>: given up: it kept failing",
        ),
    ],
)
def test_each_attempt_says_what_where_and_how_it_went(made, said):
    assert history.attempt_text(made) == f"<t:{ts(T0)}:f> · {said}"


def test_a_sources_title_is_shown_without_its_markdown_or_mentions():
    line = history.attempt_text(attempt(DeliveryOutcome.SENT, title="**@everyone** <@&42> " * 9))
    assert "@everyone" not in line and "<@&42>" not in line and "**" not in line
    assert len(line.split(" → ")[0]) < 120  # cut
