"""Database faults: a corrupted file, a read-only file, a full disk, a locked database.

Each gives a clear one-line message and a safe stop (exit 2, nothing posted), or a clean
recovery once the fault is gone: a failed transaction leaves nothing half-written behind.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.store import Store, open_store
from tests.builders import poll
from tests.delivery.conftest import T0, entry, snap

ROOT = Path(__file__).resolve().parents[2]


def bulletin_run(
    config: Path, *, read_only: Path | None = None, timeout: float = 20
) -> tuple[int, str]:
    """`bulletin run --config CONFIG` in console mode (no token): (exit status, stderr).

    With READ_ONLY, that folder is mounted read-only for the bot alone (a bind mount in a mount
    namespace of its own): tests run as root, whom file modes do not stop.
    """
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "bot", "run", "--config", str(config)]
    if read_only is not None:
        folder = shlex.quote(str(read_only))
        remount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
        command = ["unshare", "--mount", "sh", "-c", f'{remount} && exec "$@"', "sh", *command]
    done = subprocess.run(
        command, cwd=config.parent, env=env, capture_output=True, text=True, timeout=timeout
    )
    return done.returncode, done.stderr


def message_lines(stderr: str) -> list[str]:
    """stderr without the log lines (which start with a date)."""
    return [line for line in stderr.splitlines() if line and not line[:4].isdigit()]


def config_for(directory: Path, db: Path) -> Path:
    config = directory / "config.toml"
    config.write_text(f'[database]\npath = "{db}"\n')
    config.chmod(0o644)
    return config


async def filled_database(path: Path) -> None:
    store = await open_store(path)
    story = await store.ensure_story("Story", now=T0)
    source = await store.add_source(story, "https://news.example/live", now=T0)
    await poll(store, source, snap(entry(0)), now=T0)
    await store.close()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: os.urandom(8192), id="random-bytes"),
        pytest.param(lambda data: data[:100] + b"\xff" * 4000 + data[4100:], id="header-wiped"),
    ],
)
def test_a_corrupted_database_at_start_stops_with_one_line_and_exit_2(tmp_path, damage):
    db = tmp_path / "bulletin.db"
    asyncio.run(filled_database(db))
    data = db.read_bytes()
    db.write_bytes(damage(data))
    status, stderr = bulletin_run(config_for(tmp_path, db))
    lines = message_lines(stderr)
    assert status == 2
    assert len(lines) == 1 and lines[0].startswith("bulletin run: cannot open the database")
    assert "restore a backup, or move it aside" in lines[0]
    assert "Traceback" not in stderr


def test_a_corrupted_database_is_left_as_it_was_for_the_operator(tmp_path):
    db = tmp_path / "bulletin.db"
    garbage = os.urandom(8192)
    db.write_bytes(garbage)
    for _ in range(2):  # a supervisor restarting it: the same stop, never a rewrite
        status, _ = bulletin_run(config_for(tmp_path, db))
        assert status == 2
    assert db.read_bytes() == garbage


def test_a_read_only_database_stops_with_one_line_and_exit_2(tmp_path):
    db = tmp_path / "bulletin.db"
    asyncio.run(filled_database(db))
    config = config_for(tmp_path, db)
    before = db.read_bytes()
    status, stderr = bulletin_run(config, read_only=tmp_path)
    assert status == 2, stderr
    (line,) = message_lines(stderr)
    assert line.startswith("bulletin run: cannot open the database")
    assert "read-only" in line or "readonly" in line or "unable to open" in line
    assert "must be able to write the file and its folder" in line  # what to do about it
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("where", "hint"),
    [
        (lambda tmp: tmp / "no such folder" / "bulletin.db", "no such folder"),
        (lambda tmp: tmp, "is a folder"),
    ],
    ids=["folder-missing", "path-is-a-folder"],
)
def test_a_database_path_that_cannot_be_a_file_stops_with_one_line_and_exit_2(
    tmp_path, where, hint
):
    status, stderr = bulletin_run(config_for(tmp_path, where(tmp_path)))
    assert status == 2, stderr
    (line,) = message_lines(stderr)
    assert line.startswith("bulletin run: cannot open the database")
    assert hint in line and "[database] path" in line
    assert "Traceback" not in stderr


# ---- at run time: the store survives a full disk and a lock held by someone else -------------


async def counts(store: Store) -> tuple[int, int]:
    entries = await store._query_one("SELECT count(*) FROM entries")
    outbox = await store._query_one("SELECT count(*) FROM deliveries")
    return int(entries[0]), int(outbox[0])


async def subscribed_store(path: Path) -> tuple[Store, int]:
    store = await open_store(path)
    story = await store.ensure_story("Story", guild_id=1, now=T0)
    source = await store.add_source(story, "https://news.example/live", now=T0)
    await store.subscribe(story, guild_id=1, channel_id=2, now=T0)
    await poll(store, source, snap(entry(0)), now=T0)
    return store, source


async def test_a_full_disk_fails_the_poll_whole_and_the_retry_records_it_once(tmp_path):
    store, source = await subscribed_store(tmp_path / "bulletin.db")
    try:
        before = await counts(store)
        pages = (await store._query_one("PRAGMA page_count"))[0]
        await store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full now
        big = [entry(n, "x" * 20_000) for n in range(1, 40)]
        with pytest.raises(sqlite3.OperationalError, match="full"):
            await poll(store, source, snap(entry(0), *big), now=T0)
        assert await counts(store) == before  # nothing half-written
        await store._db.execute("PRAGMA max_page_count = 1073741823")  # space again
        await poll(store, source, snap(entry(0), *big), now=T0)
        assert await counts(store) == (before[0] + 39, before[1] + 39)
    finally:
        await store.close()


def hold_write_lock(path: Path, held: threading.Event, release: threading.Event) -> None:
    """Another process's writer: holds the write lock until told to let go."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    held.set()
    release.wait(10)
    other.execute("ROLLBACK")
    other.close()


async def test_a_lock_held_past_the_busy_timeout_is_a_clear_error_then_writes_resume(tmp_path):
    path = tmp_path / "bulletin.db"
    store, source = await subscribed_store(path)
    await store._db.execute("PRAGMA busy_timeout = 200")  # 5 s in production; short here
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, held, release))
    holder.start()
    try:
        assert await asyncio.to_thread(held.wait, 5)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await poll(store, source, snap(entry(0), entry(1)), now=T0)  # fmt: skip
        release.set()
        await asyncio.to_thread(holder.join, 5)
        await poll(store, source, snap(entry(0), entry(1)), now=T0)
        assert await counts(store) == (2, 1)
    finally:
        release.set()
        holder.join(5)
        await store.close()


async def test_a_lock_released_within_the_busy_timeout_is_waited_for(tmp_path):
    path = tmp_path / "bulletin.db"
    store, source = await subscribed_store(path)
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, held, release))
    holder.start()
    try:
        assert await asyncio.to_thread(held.wait, 5)
        asyncio.get_running_loop().call_later(0.3, release.set)
        await poll(store, source, snap(entry(0), entry(1)), now=T0)
        assert await counts(store) == (2, 1)
    finally:
        release.set()
        holder.join(5)
        await store.close()
