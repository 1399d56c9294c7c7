"""`bulletin db copy`: a populated SQLite file into PostgreSQL, end to end through the command,
then read back through the store; a poll after the copy posts nothing already posted."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.model import FailureReason, LeftOutReason, NewEntry, PauseReason, PublishOutcome
from bot.outcome import GivenUp, Retry, Sent, Shown, ThreadStarted
from bot.store import Store, open_store
from bot.store.copy import TABLES
from bot.store.publishing import PublishBudget, PublishRequest
from tests import postgres
from tests.builders import T0, entry, poll, snap

LATER = T0 + timedelta(minutes=5)
DUE = T0 + timedelta(hours=1)
GONE = T0 + timedelta(days=40)  # e1 is pruned by then (30 days' retention)
PASSWORD = "copy-s3cret"


@pytest.fixture
async def target() -> str:
    async with postgres.fresh_database() as url:
        yield url


def with_password(url: str) -> str:
    """URL with a password (trust authentication ignores it): it must never be shown."""
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


async def populate(path: Path) -> dict[str, int]:
    """An SQLite database holding a bit of everything Bulletin keeps."""
    store = await open_store(path)
    try:
        story = await store.ensure_story("Élection", guild_id=1, interval=120, now=T0)
        config_story = await store.ensure_story("Config story", now=T0)
        source = await store.add_source(story, "https://news.example/live", now=T0)
        await store.add_source(config_story, "https://news.example/live", now=T0)
        other = await store.add_source(
            story, "https://news.example/feed", selectors={"entry": "article"}, now=T0
        )
        updates = await store.subscribe(
            story, guild_id=1, channel_id=10, channel_name="news", now=T0
        )
        # a forum's subscription is one in a thread (the story's post) too
        threaded = await store.subscribe(
            story, guild_id=1, channel_id=11, forum=True, channel_name="live", now=T0
        )
        await store.subscribe(story, guild_id=1, channel_id=12, mode="digest", now=T0)
        await store.subscribe(config_story, guild_id=None, channel_id=None, now=T0)
        # filters that leave every update out: routing decisions, one per update or edit
        filtered = await store.subscribe(
            story,
            guild_id=1,
            channel_id=13,
            keywords="nothing says this",
            exclusions="rumour",
            pattern="^Update",
            now=T0,
        )
        await store.set_alerts_channel(1, 99)
        await store.guild_joined(2, now=T0)
        await store.guild_left(2, now=LATER)

        await poll(store, source, snap(entry(1), entry(2), key_points=("a", "b")), now=T0)
        await poll(store, source, snap(entry(2, "edited"), entry(3), key_points=("b",)), LATER)
        await poll(store, other, snap(entry(7, title="Nul\x00byte")), now=T0)
        await store.prune(GONE - timedelta(days=1))  # every entry leaves: tombstones
        # e2 and e3 come back and are stored again, silently (e1 and e7 stay tombstones)
        back = snap(entry(2, "edited"), entry(3), key_points=("b",))
        assert await poll(store, source, back, now=GONE - timedelta(hours=12)) == ()
        # something new on the other source: routed to some, left out of the filtered one
        await poll(store, other, snap(entry(7), entry(8)), now=GONE - timedelta(hours=12))
        pending = await store.pending_deliveries(DUE)
        by_sub = {}
        for row in pending:
            by_sub.setdefault(row.subscription_id, []).append(row)
        # the row about an update goes first: what its message showed is kept (posted_messages)
        first, *rest = sorted(by_sub[updates], key=lambda row: row.entry_id is None)
        assert first.entry_id is not None
        shown = Shown(((source, first.entry_id),))
        await store.claim([((first.id,), "nonce-1", 0)], now=DUE)
        await store.record_delivery([first], Sent(555, 10, effects=(shown,)), now=DUE)
        await store.record_delivery(
            rest[:1],
            Retry(FailureReason.DISCORD_ERROR, "HTTP 503", at=DUE + timedelta(minutes=1)),
            now=DUE,
        )
        starter = await store.queue_starter(threaded, now=DUE)
        assert starter is not None
        await store.record_delivery(
            [starter], Sent(777, 11, effects=(ThreadStarted(1100, 777),)), now=DUE
        )
        await store.record_delivery(
            by_sub[threaded][:1], GivenUp(FailureReason.DISCORD_ERROR, "HTTP 400"), now=DUE
        )
        await store.pause_subscription(
            threaded, reason=PauseReason.NO_PERMISSION, detail="403 Missing Access", now=DUE
        )
        # an announcement channel's publishes: one published, one left unpublished
        await store.set_publish(updates, True)
        budget = PublishBudget(per_hour=1, reserve=0)
        for message_id in (555, 556):
            ask = PublishRequest(10, 1, updates, first.id, message_id, key=False, story="Story")
            ticket = await store.take_publish(ask, now=DUE, budget=budget)
            if ticket.granted:
                await store.publish_done(ticket.id, outcome=PublishOutcome.PUBLISHED)
        return {
            "story": story,
            "source": source,
            "other": other,
            "updates": updates,
            "filtered": filtered,
            "threaded": threaded,
        }
    finally:
        await store.close()


async def bulletin(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def sqlite_rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        rows = db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    return columns, sorted(rows, key=repr)


async def postgres_rows(url: str, table: str, columns: list[str]) -> list[tuple]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(f"SELECT {', '.join(columns)} FROM {table}")
    finally:
        await connection.close()
    # as SQLite keeps them: booleans as 0/1, U+0000 as PostgreSQL could keep it
    return sorted(
        (tuple(int(v) if isinstance(v, bool) else v for v in row) for row in rows), key=repr
    )


async def copy(path: Path, url: str) -> tuple[int, str, str]:
    return await bulletin("db", "copy", "--from", str(path), "--to", with_password(url))


async def test_every_table_arrives_whole_and_progress_is_told(tmp_path, target):
    path = tmp_path / "bulletin.db"
    await populate(path)
    code, out, err = await copy(path, target)
    assert code == 0, err
    for table in TABLES:
        columns, rows = sqlite_rows(path, table)
        expected = [
            tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)
            for row in rows
        ]
        assert await postgres_rows(target, table, columns) == sorted(expected, key=repr), table
        assert f"  {table}: {len(rows)} row" in err
        assert rows, f"populate() leaves {table} empty: its copy would prove nothing"
    assert PASSWORD not in err + out
    assert "copied " in err.splitlines()[-1]
    assert await analyzed(target) >= set(TABLES)  # the planner knows the copied tables


async def analyzed(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
        )
    finally:
        await connection.close()
    return {row[0] for row in rows}


async def records(store: Store, ids: dict[str, int]) -> list[object]:
    """What the store hands out, read through its interface."""
    story = ids["story"]
    subs = [sub.id for sub in await store.subscriptions()]
    return [
        await store.stories_for_guild(1),
        await store.sources_of_story(story),
        await store.subscriptions(),
        await store.latest_entries(story, limit=50),
        await store.entries_since(story, T0 - timedelta(days=1)),
        await store.current_key_points(story),
        await store.pending_deliveries(DUE + timedelta(hours=1)),
        await store.delivery_history(1, limit=100),
        await store.delivery_health(1),
        await store.alerts_channel(1),
        await store.present_guilds(),
        await store.posted_message(ids["updates"], ids["source"], "e2"),
        await store.posted_message(ids["updates"], ids["source"], "e3"),
        await store.get_entry(ids["source"], "e2"),
        await store.routing_decisions(ids["other"], "e8", subscription_ids=subs),
        await store.publications(channel_id=10),
        await store.entry_outbox(ids["other"], "e8", subscription_ids=subs),
        await store.entry_outbox(ids["source"], "e3", subscription_ids=subs),
    ]


async def updates(store: Store) -> list[int]:
    """The ids of the pending rows about updates and key points."""
    rows = await store.pending_deliveries(GONE + timedelta(days=1), limit=1000)
    return [row.id for row in rows if row.kind in ("new", "edited", "key_points")]


def test_every_table_of_sqlites_schema_is_copied(tmp_path):
    asyncio.run(populate(tmp_path / "bulletin.db"))
    with sqlite3.connect(tmp_path / "bulletin.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert set(TABLES) == tables


async def test_the_copy_reads_back_the_same_through_the_store_and_posts_nothing_again(
    tmp_path, target
):
    path = tmp_path / "bulletin.db"
    ids = await populate(path)
    code, _, err = await copy(path, target)
    assert code == 0, err
    before, after = await open_store(path), await open_store(target)
    try:
        assert await records(after, ids) == await records(before, ids)
        filtered = await after.get_subscription(ids["filtered"])
        assert filtered is not None
        forum = await after.get_subscription(ids["threaded"])
        assert forum is not None and (forum.forum, forum.thread, forum.channel_name) == (
            True,
            True,
            "live",
        )
        assert (filtered.keywords, filtered.exclusions, filtered.pattern) == (
            "nothing says this",
            "rumour",
            "^Update",
        )
        (decision,) = await after.routing_decisions(
            ids["other"], "e8", subscription_ids=[ids["filtered"]]
        )
        assert (decision.reason, decision.value) == (LeftOutReason.KEYWORDS, "nothing says this")
        copied_max = max(d.id for d in await before.pending_deliveries(GONE, limit=1000))
        pending = await updates(after)
        # e1 (pruned: a tombstone), e2 and e3 (seen) come back: nothing is new (the story's
        # status may move after 40 days, and says so)
        page = snap(entry(1), entry(2, "edited"), entry(3), key_points=("b",))
        assert await poll(after, ids["source"], page, now=GONE) == ()
        assert await updates(after) == pending
        # something new is queued as the SQLite store queues it, with ids after the copied ones
        await poll(before, ids["source"], page, now=GONE)
        for store in (before, after):
            changes = await poll(store, ids["source"], snap(entry(3), entry(4)), now=GONE)
            assert changes == (NewEntry(entry(4)),)
        new = [
            [(d.subscription_id, d.channel_id) for d in rows if d.entry_id == "e4"]
            for rows in [await s.pending_deliveries(GONE, limit=1000) for s in (before, after)]
        ]
        assert new[0] == new[1] and len(new[1]) == 2  # the guild's channel and the console
        assert min(d.id for d in await after.pending_deliveries(GONE) if d.entry_id == "e4") > (
            copied_max
        )
    finally:
        await before.close()
        await after.close()


async def test_a_target_that_is_not_empty_is_refused_in_one_line(tmp_path, target):
    path = tmp_path / "bulletin.db"
    await populate(path)
    assert (await copy(path, target))[0] == 0
    code, out, err = await copy(path, target)
    assert code == 2
    assert err.count("\n") == 2 and "is not empty" in err.splitlines()[-1]
    assert PASSWORD not in err + out
    columns, rows = sqlite_rows(path, "stories")
    assert len(await postgres_rows(target, "stories", columns)) == len(rows)  # untouched


async def test_a_failed_copy_leaves_the_target_empty_and_can_be_run_again(tmp_path, target):
    path = tmp_path / "bulletin.db"
    await populate(path)
    with sqlite3.connect(path) as db:  # SQLite keeps text in an INTEGER column; PostgreSQL won't
        db.execute("UPDATE delivery_attempts SET message_id = 'not a number'")
    code, _, err = await copy(path, target)
    assert code == 2
    assert "cannot copy table delivery_attempts" in err and "nothing was written" in err
    for table in TABLES:
        assert await postgres_rows(target, table, ["1"]) == [], table
    with sqlite3.connect(path) as db:
        db.execute("UPDATE delivery_attempts SET message_id = NULL")
    assert (await copy(path, target))[0] == 0


async def test_a_column_postgresql_lacks_is_refused_never_dropped(tmp_path, target):
    path = tmp_path / "bulletin.db"
    await populate(path)
    await (await open_store(target)).close()  # the schema, then one column less
    connection = await asyncpg.connect(target)
    try:
        await connection.execute("ALTER TABLE subscriptions DROP COLUMN pattern")
    finally:
        await connection.close()
    code, _, err = await copy(path, target)
    assert code == 2
    last = err.splitlines()[-1]
    assert "cannot copy table subscriptions: PostgreSQL's schema has no column pattern" in last
    for table in TABLES:
        assert await postgres_rows(target, table, ["1"]) == [], table


async def test_an_unreachable_target_is_one_line_naming_it(tmp_path):
    path = tmp_path / "bulletin.db"
    await populate(path)
    code, _, err = await bulletin(
        "db", "copy", "--from", str(path), "--to", f"postgresql://u:{PASSWORD}@127.0.0.1:1/x"
    )
    assert code == 2
    last = err.splitlines()[-1]
    assert last.startswith("bulletin db: cannot reach PostgreSQL at 127.0.0.1:1 (")
    assert PASSWORD not in err
