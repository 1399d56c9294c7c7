"""Leases in PostgreSQL, between processes (two stores on one database): a source leased by
one is neither due nor claimable for another until its lease expires, and claims made at the
same moment share the due sources out without overlap (`FOR UPDATE SKIP LOCKED`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.store import Store, open_store
from tests import postgres
from tests.builders import T0

NOW = T0 + timedelta(minutes=1)
LEASE = timedelta(seconds=30)


@pytest.fixture
async def two() -> AsyncIterator[tuple[Store, Store]]:
    async with postgres.fresh_database() as url:
        one, other = await open_store(url), await open_store(url)
        try:
            yield one, other
        finally:
            await one.close()
            await other.close()


async def sources(store: Store, count: int) -> list[int]:
    story = await store.ensure_story("S", now=T0)
    return [await store.add_source(story, f"https://example.org/{n}", now=T0) for n in range(count)]


async def test_a_source_leased_by_another_is_not_due_for_it_until_the_lease_expires(two):
    a, b = two
    [source] = await sources(a, 1)
    claimed = await a.claim_sources([source], owner="a", now=NOW, until=NOW + LEASE)
    assert claimed == [source]
    assert await b.due_sources(NOW, 10) == []
    assert await b.claim_sources([source], owner="b", now=NOW, until=NOW + LEASE) == []
    expired = NOW + LEASE
    assert [s.id for s in await b.due_sources(expired, 10)] == [source]
    taken = await b.claim_sources([source], owner="b", now=expired, until=expired + LEASE)
    assert taken == [source]


async def test_claims_made_at_once_share_the_due_sources_without_overlap(two):
    a, b = two
    ids = await sources(a, 60)
    now = NOW
    for _ in range(3):
        got = await asyncio.gather(
            *(
                store.claim_sources(ids, owner=name, now=now, until=now + LEASE)
                for store, name in ((a, "a"), (b, "b"), (a, "a2"), (b, "b2"))
            )
        )
        claimed = [source for batch in got for source in batch]
        assert sorted(claimed) == ids  # each once, none lost
        now += LEASE  # every lease expired: all are claimable again
