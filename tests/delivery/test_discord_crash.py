"""kill -9 of a delivering process, then a restart: every update is posted exactly once."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import open_store
from tests.builders import poll
from tests.delivery.conftest import T0, entry, snap

ROOT = Path(__file__).resolve().parents[2]
UPDATES = 12


async def start_worker(db: Path, server, **env: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.delivery.deliver_worker",
        str(db),
        server.api_base,
        server.token,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 20)).strip() == b"ready"
    return process


def titles(server, channel_id: int) -> list[str]:
    return [e["title"] for m in server.messages_in(channel_id) for e in m["embeds"]]


async def outbox(discord_server, guild, tmp_path) -> Path:
    """A database whose outbox holds UPDATES updates for #general, one poll (message) each."""
    discord_server.limits.message_create = (50, 1.0)
    db = tmp_path / "bulletin.db"
    store = await open_store(db)
    story = await store.ensure_story("Story", guild_id=guild.id, now=T0)
    source = await store.add_source(story, "https://news.example/live", now=T0)
    await store.subscribe(story, guild_id=guild.id, channel_id=guild.system_channel_id, now=T0)
    entries = [entry(0)]
    await poll(store, source, snap(*entries), now=T0)
    for n in range(1, UPDATES + 1):  # one poll per update: one message each
        entries.append(entry(n))
        await poll(store, source, snap(*entries), now=T0.replace(second=n))
    await store.close()
    return db


async def test_a_killed_delivery_resumes_without_duplicates(discord_server, guild, tmp_path):
    db = await outbox(discord_server, guild, tmp_path)
    # every message takes a while on the server, so the kill lands with one in flight
    discord_server.inject("POST", "/channels/*/messages", status=None, times=1000, delay=0.15)
    channel = guild.system_channel_id

    worker = await start_worker(db, discord_server)
    await discord_server.wait_until(lambda: len(titles(discord_server, channel)) >= 3, 20)
    await asyncio.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    await worker.wait()
    assert len(titles(discord_server, channel)) < UPDATES

    worker = await start_worker(db, discord_server)
    try:
        await discord_server.wait_until(lambda: len(titles(discord_server, channel)) >= UPDATES, 30)
        await asyncio.sleep(0.5)  # anything extra would arrive now
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    counts = Counter(titles(discord_server, channel))
    assert counts == Counter(f"Update {n}" for n in range(1, UPDATES + 1))
    assert titles(discord_server, channel) == [f"Update {n}" for n in range(1, UPDATES + 1)]


async def test_a_kill_between_posting_and_recording_posts_once(discord_server, guild, tmp_path):
    db = await outbox(discord_server, guild, tmp_path)
    channel = guild.system_channel_id
    worker = await start_worker(db, discord_server, KILL_AFTER_SENDS="4")
    assert await asyncio.wait_for(worker.wait(), 20) == -signal.SIGKILL
    assert len(titles(discord_server, channel)) == 4

    worker = await start_worker(db, discord_server)
    try:
        await discord_server.wait_until(lambda: len(titles(discord_server, channel)) >= UPDATES, 30)
        await asyncio.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    # the fourth message was sent again under its nonce, and Discord answered with the first
    assert discord_server.count("POST", "/channels/*/messages") == UPDATES + 1
    assert titles(discord_server, channel) == [f"Update {n}" for n in range(1, UPDATES + 1)]


@pytest.mark.parametrize(
    ("claimed_ago", "warned"), [(timedelta(seconds=30), False), (timedelta(minutes=10), True)]
)
async def test_a_resend_past_the_nonce_window_is_logged(
    discord_server, guild, store, dispatcher, follow, clock, caplog, claimed_ago, warned
):
    source = await follow(baseline=snap(entry(0), key_points=("A",)))
    await source.poll(snap(entry(0), entry(1), key_points=("A", "B")))
    rows = await store.pending_deliveries(clock())
    # claimed by a process that died sending them
    await store.claim([([row.id], row.nonce, 0) for row in rows], now=clock() - claimed_ago)
    caplog.set_level(logging.INFO, logger="bot.delivery.dispatcher")
    await dispatcher.drain()
    assert len(discord_server.messages_in(guild.system_channel_id)) == len(rows)
    warnings = [r for r in caplog.records if "past Discord's nonce window" in r.getMessage()]
    assert len(warnings) == (len(rows) if warned else 0)
    assert all(r.levelno == logging.WARNING for r in warnings)
    if not warned:
        assert any("in flight under its nonce" in r.getMessage() for r in caplog.records)


async def test_rows_sent_normally_log_no_resend(
    discord_server, guild, store, dispatcher, follow, clock, caplog
):
    source = await follow(baseline=snap(entry(0), key_points=("A",)))
    await source.poll(snap(entry(0), entry(1), key_points=("A", "B")))
    caplog.set_level(logging.INFO, logger="bot.delivery.dispatcher")
    await dispatcher.drain()
    assert not any("resending" in r.getMessage() for r in caplog.records)
