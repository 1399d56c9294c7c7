"""Leases on sources (`claim_sources`, `renew_leases`, and `record_poll` under a lease), on
every backend: a claimed source's poll is recorded by its holder only, and releases the lease;
a late holder whose lease was taken over records nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.polling.pipeline import PollReport
from bot.store import LeaseLost, PollOutcome, PollRecord, Store
from tests.builders import T0, answer, entry, poll, snap

NOW = T0 + timedelta(minutes=1)
LEASE = timedelta(seconds=30)


async def claim(store: Store, source: int, owner: str, now: datetime = NOW) -> list[int]:
    return await store.claim_sources([source], owner=owner, now=now, until=now + LEASE)


async def answered(store: Store, source: int, owner: str | None, now: datetime = NOW) -> PollReport:
    """A poll that found the page unchanged (304), recorded under OWNER's lease."""
    return await answer(store, source, now=now, etag="e2", seed=1, lease=owner)


async def test_a_due_source_is_claimed_and_its_poll_recorded_under_the_lease(store, source):
    assert await claim(store, source, "a") == [source]
    await answered(store, source, "a")
    polled = await store.get_source(source)
    assert (polled.last_polled, polled.etag) == (NOW, "e2")
    assert await claim(store, source, "a") == []  # not due any more


async def test_a_late_holder_whose_lease_was_taken_over_records_nothing(store, source):
    await poll(store, source, snap(entry(1)), T0)  # a baseline; due again a minute later
    due = (await store.get_source(source)).next_check
    assert await claim(store, source, "slow", due) == [source]
    later = due + LEASE + timedelta(seconds=1)  # it expired: "slow" stopped renewing
    assert await claim(store, source, "quick", later) == [source]
    version = (await store.get_source(source)).version
    with pytest.raises(LeaseLost):
        await answered(store, source, "slow", later)
    assert (await store.get_source(source)).version == version  # nothing written
    await answered(store, source, "quick", later)
    assert (await store.get_source(source)).last_polled == later
    with pytest.raises(LeaseLost):  # released by the new holder's record, still not the late one's
        await answered(store, source, "slow", later + timedelta(seconds=1))


async def test_renewal_keeps_only_the_owners_leases_not_one_released_by_its_record(store, source):
    assert await claim(store, source, "a") == [source]
    until = NOW + 2 * LEASE
    assert await store.renew_leases([source], owner="b", until=until) == []
    assert await store.renew_leases([source], owner="a", until=until) == [source]
    await answered(store, source, "a")
    assert await store.renew_leases([source], owner="a", until=until) == []


async def test_a_poll_outside_the_poller_records_without_a_lease(store, source):
    assert await claim(store, source, "a") == [source]
    await answered(store, source, None)  # e.g. a moderator's /source add
    assert (await store.get_source(source)).last_polled == NOW


async def test_a_source_never_claimed_takes_a_leased_poll(store, source):
    await answered(store, source, "a")  # the poller's poll_source called alone (benchmarks)
    assert (await store.get_source(source)).last_polled == NOW


async def test_unchanged_polls_recorded_at_once_each_learn_their_own_fate(store):
    """On PostgreSQL such polls are written together (one statement): each caller still hears
    of its own poll alone."""
    story = await store.ensure_story("Many", now=T0)
    sources = [await store.add_source(story, f"https://example.org/{n}", now=T0) for n in range(12)]
    mine, theirs, stale, free = sources[:4], sources[4], sources[5], sources[6:]
    for source in mine:
        assert await claim(store, source, "mine") == [source]
    assert await claim(store, theirs, "theirs") == [theirs]
    planned = await store.get_source(stale)
    await answered(store, stale, None)  # recorded since the poll below was planned
    late = PollRecord(
        source_id=stale,
        version=planned.version,
        outcome=PollOutcome.UNCHANGED,
        now=NOW,
        next_check=NOW + timedelta(minutes=1),
        status=planned.status,
    )
    results = await asyncio.gather(
        *(answered(store, source, "mine") for source in [*mine, theirs]),
        *(answered(store, source, None) for source in free),
        store.record_poll(late),
        return_exceptions=True,
    )
    assert [type(result).__name__ for result in results] == (
        ["PollReport"] * 4 + ["LeaseLost"] + ["PollReport"] * 6 + ["StalePoll"]
    )
    versions = [(await store.get_source(source)).version for source in sources]
    assert versions == [1] * 4 + [0] + [1] * 7
