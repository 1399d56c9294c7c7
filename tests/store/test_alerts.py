"""Alerts (source paused / resumed), validators on not-modified, deliveries by target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.model import DeliveryKind, FailureReason
from bot.outcome import Retry, Sent
from tests.builders import T0, answer, entry, fail, finish, poll, snap


@dataclass(frozen=True)
class PendingAlert:
    """An alert row as these tests read it."""

    id: int
    kind: str
    reason: str | None
    guild_id: int | None
    source_url: str | None
    row: object


async def pending_alerts(store, now, *, guilds: bool = True) -> list[PendingAlert]:
    targets = ("console", "discord") if guilds else ("console",)
    return [
        PendingAlert(row.id, row.alert.kind, row.alert.error, row.guild_id, row.alert.url, row)
        for row in await store.pending_deliveries(now, targets=targets)
        if row.kind is DeliveryKind.ALERT
    ]


async def fail_times(store, source, times: int, *, pause_after: int = 2) -> None:
    for n in range(times):
        await fail(
            store, source, now=T0 + timedelta(minutes=n), error="HTTP 500", pause_after=pause_after
        )


async def test_the_failure_that_pauses_a_source_writes_one_alert(store, source):
    await fail_times(store, source, 4)
    alerts = await pending_alerts(store, T0 + timedelta(hours=1))
    assert [(a.kind, a.reason, a.guild_id) for a in alerts] == [("source_paused", "HTTP 500", None)]
    assert alerts[0].source_url == "https://example.org/live"


@pytest.mark.parametrize("reply", ["not_modified", "poll"])
async def test_a_paused_source_that_answers_writes_one_resumed_alert(store, source, reply):
    await fail_times(store, source, 2)
    for n in range(2):
        when = T0 + timedelta(hours=1, minutes=n)
        if reply == "poll":
            await poll(store, source, snap(entry(1)), now=when)
        else:
            await answer(store, source, now=when)
    kinds = [a.kind for a in await pending_alerts(store, T0 + timedelta(hours=2))]
    assert kinds == ["source_paused", "source_resumed"]


async def test_failures_below_the_threshold_write_no_alert(store, source):
    await fail_times(store, source, 1, pause_after=3)
    await answer(store, source, now=T0 + timedelta(hours=1))
    assert await pending_alerts(store, T0 + timedelta(hours=2)) == []


async def test_each_server_using_a_source_gets_its_own_alert(store, source):
    other = await store.ensure_story("Theirs", guild_id=42, now=T0)
    await store.add_source(other, "https://example.org/live", now=T0)
    await fail_times(store, source, 2)
    alerts = await pending_alerts(store, T0 + timedelta(hours=1))
    assert sorted((a.guild_id is None, a.guild_id) for a in alerts) == [
        (False, 42),
        (True, None),
    ]
    console_only = await pending_alerts(store, T0 + timedelta(hours=1), guilds=False)
    assert [a.guild_id for a in console_only] == [None]


async def test_a_sent_alert_is_not_pending_and_a_retried_one_waits(store, source):
    other = await store.ensure_story("Theirs", guild_id=42, now=T0)
    await store.add_source(other, "https://example.org/live", now=T0)
    await fail_times(store, source, 2)
    first, second = await pending_alerts(store, T0 + timedelta(hours=1))
    await store.record_delivery([first.row], Sent(), now=T0)
    await store.record_delivery(
        [second.row],
        Retry(FailureReason.DISCORD_ERROR, "503", at=T0 + timedelta(hours=3)),
        now=T0,
    )
    assert await pending_alerts(store, T0 + timedelta(hours=1)) == []
    assert [a.id for a in await pending_alerts(store, T0 + timedelta(hours=4))] == [second.id]


async def test_not_modified_stores_new_validators_and_keeps_old_ones_when_absent(store, source):
    await answer(store, source, now=T0, etag='"a"', last_modified="Mon")
    await answer(store, source, now=T0, etag='"b"')
    record = await store.get_source(source)
    assert (record.etag, record.last_modified) == ('"b"', "Mon")


async def test_pending_deliveries_can_be_limited_to_targets(store, source):
    story = (await store.stories_for_guild(None))[0].id
    await store.subscribe(story, guild_id=7, channel_id=70, now=T0)
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1), entry(2)), now=T0 + timedelta(minutes=1))
    now = T0 + timedelta(hours=1)
    assert {d.target for d in await store.pending_deliveries(now)} == {"console", "discord"}
    assert {d.target for d in await store.pending_deliveries(now, targets=["console"])} == {
        "console"
    }


async def test_a_status_stored_without_announcing_writes_no_delivery(store, source):
    from bot.model import StoryStatus

    change = await finish(
        store, source, now=T0, next_check=T0, status=StoryStatus.QUIET, announce=False
    )
    assert change is None
    assert (await store.get_source(source)).status is StoryStatus.QUIET
    assert await store.pending_deliveries(T0 + timedelta(hours=1)) == []
