"""Schema creation and upgrades on real SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.diff import fingerprint, id_key
from bot.model import NewEntry
from bot.store import SQLiteStore, StoreError, open_store
from bot.store.codec import to_us
from bot.store.sqlite.migrate import LATEST, migrations
from bot.text import content_hash
from tests.builders import T0, entry, poll, snap

TABLES = {
    "guilds",
    "stories",
    "sources",
    "story_sources",
    "entries",
    "tombstones",
    "key_points",
    "guild_settings",
    "subscriptions",
    "deliveries",
    "posted_messages",
    "delivery_attempts",
    "routing_decisions",
}


def tables(path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_migrations_are_numbered_from_one_without_gaps():
    assert [version for version, _, _ in migrations()] == list(range(1, LATEST + 1))


async def test_fresh_database_gets_every_table_and_the_latest_version(store, db_path):
    assert await store.schema_version() == LATEST
    assert tables(db_path) >= TABLES


async def test_database_runs_in_wal_mode_with_foreign_keys_and_a_small_page_cache(store):
    assert (await store._fetchone("PRAGMA journal_mode"))[0] == "wal"
    assert (await store._fetchone("PRAGMA foreign_keys"))[0] == 1
    assert (await store._fetchone("PRAGMA synchronous"))[0] == 1  # NORMAL
    assert (await store._fetchone("PRAGMA cache_size"))[0] == -256  # KiB, not SQLite's 2 MiB


@pytest.mark.parametrize("start", range(LATEST))
async def test_upgrade_from_every_earlier_version_keeps_the_data(db_path, start):
    old = await SQLiteStore.open(db_path, migrate_to=start)
    if start >= 1:
        story = await old.ensure_story("Kept", now=T0)
        source = await old.add_source(story, "https://example.org/kept", now=T0)
    await old.close()

    store = await open_store(db_path)
    try:
        assert await store.schema_version() == LATEST
        assert tables(db_path) >= TABLES
        if start >= 1:
            assert (await store.get_source(source)).url == "https://example.org/kept"
            await store.subscribe(story, guild_id=None, channel_id=None)
            await poll(store, source, snap(entry(1)))
            assert await poll(store, source, snap(entry(1), entry(2))) != ()
    finally:
        await store.close()


def write_version_1_history(path, source: int) -> None:
    """What polling had stored by schema version 1, written as that version's SQL: a seen
    entry, a pruned one (its tombstone), a key-point version and the baseline."""
    seen = entry(1)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO entries (source_id, entry_id, content_hash, fingerprint, title, text,"
            " first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source,
                seen.id,
                content_hash(seen.title, seen.text),
                fingerprint(seen.title, seen.text),
                seen.title,
                seen.text,
                to_us(T0),
                to_us(T0),
            ),
        )
        db.execute(
            "INSERT INTO tombstones (source_id, key, pruned_at) VALUES (?, ?, ?)",
            (source, id_key(entry(2).id), to_us(T0)),
        )
        db.execute(
            "INSERT INTO key_points (source_id, kind, items, added, removed, created_at)"
            " VALUES (?, 'summary', '[\"Point\"]', '[\"Point\"]', '[]', ?)",
            (source, to_us(T0)),
        )
        db.execute("UPDATE sources SET baseline_at = ? WHERE id = ?", (to_us(T0), source))


@pytest.mark.parametrize("start", range(1, LATEST))
async def test_upgrade_keeps_seen_ids_tombstones_and_key_points(db_path, start):
    old = await SQLiteStore.open(db_path, migrate_to=start)
    story = await old.ensure_story("Kept", now=T0)
    source = await old.add_source(story, "https://example.org/kept", now=T0)
    await old.close()
    write_version_1_history(db_path, source)

    store = await open_store(db_path)
    try:
        await store.subscribe(story, guild_id=None, channel_id=None, now=T0)
        # e1 was seen and e2 pruned before the upgrade; only e3 is new, the key points as stored
        changes = await poll(
            store, source, snap(entry(1), entry(2), entry(3), key_points=("Point",))
        )
        assert changes == (NewEntry(entry(3)),)
    finally:
        await store.close()


async def test_reopening_an_up_to_date_database_changes_nothing(db_path):
    first = await open_store(db_path)
    story = await first.ensure_story("Once")
    await first.close()
    second = await open_store(db_path)
    try:
        assert [s.id for s in await second.stories_for_guild(None)] == [story]
    finally:
        await second.close()


async def test_database_newer_than_the_code_is_refused(db_path):
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(StoreError, match="newer than this Bulletin"):
        await open_store(db_path)


async def test_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not SQLite at all " * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        await open_store(path)


async def test_version_7_moves_alerts_into_the_outbox_and_stores_reasons_as_codes(db_path):
    old = await SQLiteStore.open(db_path, migrate_to=6)
    await old.close()
    now = to_us(T0)
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO guilds (id, joined_at) VALUES (1, ?)", (now,))
        db.executemany(
            "INSERT INTO stories (id, guild_id, name, paused_at, pause_reason, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (1, 1, "Mine", now, "paused by a moderator", now),
                (2, None, "Config", now, "not in the config file any more", now),
            ],
        )
        db.execute(
            "INSERT INTO sources (id, url, next_check, created_at)"
            " VALUES (1, 'https://a.example/', ?, ?)",
            (now, now),
        )
        db.executemany(
            "INSERT INTO subscriptions (id, story_id, guild_id, channel_id, paused_at,"
            " pause_reason, created_at) VALUES (?, 1, 1, ?, ?, ?, ?)",
            [
                (
                    1,
                    10,
                    now,
                    "the channel was deleted (Discord said 404 10003: Unknown Channel)",
                    now,
                ),
                (2, 11, now, "Bulletin may no longer post there (Discord said 403)", now),
            ],
        )
        db.execute(
            "INSERT INTO alerts (source_id, guild_id, kind, reason, next_attempt, created_at)"
            " VALUES (1, 1, 'source_paused', 'HTTP 500', ?, ?)",
            (now, now),
        )
        db.execute(
            "INSERT INTO deliveries (subscription_id, kind, payload, state, next_attempt, nonce,"
            " created_at) VALUES (2, 'status', '{}', 'undeliverable', ?, 'n1', ?)",
            (now, now),
        )
    store = await open_store(db_path)
    try:
        mine, config = await store.get_story(1), await store.get_story(2)
        assert (mine.pause_reason, config.pause_reason) == ("moderator", "config_removed")
        gone, refused = await store.subscriptions(guild_id=1)
        assert (gone.pause_reason, gone.pause_detail) == (
            "channel_gone",
            "Discord said 404 10003: Unknown Channel",
        )
        assert (refused.pause_reason, refused.pause_detail) == ("no_permission", "Discord said 403")
        (alert,) = await store.pending_deliveries(T0 + timedelta(hours=1))
        assert alert.alert is not None
        assert (alert.guild_id, alert.alert.kind, alert.alert.url, alert.alert.error) == (
            1,
            "source_paused",
            "https://a.example/",
            "HTTP 500",
        )
        assert "alerts" not in tables(db_path)
        state = await store._fetchone("SELECT state FROM deliveries WHERE nonce = 'n1'")
        assert state[0] == "given_up"
    finally:
        await store.close()


async def test_version_8_leaves_earlier_subscriptions_without_exclusions_or_pattern(db_path):
    old = await SQLiteStore.open(db_path, migrate_to=7)
    story = await old.ensure_story("Kept", guild_id=1, now=T0)
    source = await old.add_source(story, "https://example.org/kept", now=T0)
    await old.close()
    with sqlite3.connect(db_path) as db:  # as version 7 wrote a subscription
        db.execute(
            "INSERT INTO subscriptions (story_id, guild_id, channel_id, keywords, created_at)"
            " VALUES (?, 1, 10, 'ferry', ?)",
            (story, to_us(T0)),
        )
    store = await open_store(db_path)
    try:
        (sub,) = await store.subscriptions(guild_id=1)
        assert (sub.keywords, sub.exclusions, sub.pattern) == ("ferry", None, None)
        (subscriber,) = await store.subscribers(source)
        assert (subscriber.exclusions, subscriber.pattern) == (None, None)
    finally:
        await store.close()


async def test_version_9_leaves_earlier_subscriptions_in_text_channels_without_names(db_path):
    old = await SQLiteStore.open(db_path, migrate_to=8)
    story = await old.ensure_story("Kept", guild_id=1, now=T0)
    await old.close()
    with sqlite3.connect(db_path) as db:  # as version 8 wrote a thread-mode subscription
        db.execute(
            "INSERT INTO subscriptions (story_id, guild_id, channel_id, thread, created_at)"
            " VALUES (?, 1, 10, 1, ?)",
            (story, to_us(T0)),
        )
    store = await open_store(db_path)
    try:
        (sub,) = await store.subscriptions(guild_id=1)
        assert (sub.thread, sub.forum, sub.channel_name) == (True, False, None)
        assert await store.rename_channel(10, "news") == 1
    finally:
        await store.close()
