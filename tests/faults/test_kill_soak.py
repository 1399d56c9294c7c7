"""kill -9 at random points of polling AND delivery, repeated from a seed.

A poller process records polls of one source while a delivering process drains the outbox to the
fake Discord; both are killed with SIGKILL at seeded random moments and started again, several
times; at the end every update is in the channel exactly once, in order. The workers are
tests/faults/poll_worker.py and tests/delivery/deliver_worker.py (the single-kill tests are in
tests/delivery/test_discord_crash.py).

A few seeds run in `make test`; `BULLETIN_SOAK=1 pytest tests/faults` runs many
(BULLETIN_SOAK=N: N seeds; BULLETIN_SEED=S: that one seed, to replay a failure).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.store import open_store
from tests.builders import poll
from tests.delivery.conftest import T0, entry, snap
from tests.delivery.test_discord_crash import start_worker, titles

ROOT = Path(__file__).resolve().parents[2]
UPDATES = 15
KILLS = 3


def seeds() -> list[int]:
    if "BULLETIN_SEED" in os.environ:
        return [int(os.environ["BULLETIN_SEED"])]
    soak = os.environ.get("BULLETIN_SOAK", "")
    count = (40 if soak in ("1", "yes", "true") else int(soak)) if soak else 2
    return list(range(count))


async def start_poller(db: Path, source: int, seed: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.faults.poll_worker",
        str(db),
        str(source),
        str(UPDATES),
        str(seed),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 20)).strip() == b"ready"
    return process


async def kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGKILL)
    await process.wait()


async def baseline(db: Path, guild_id: int, channel_id: int) -> int:
    """A subscribed source whose first poll (the baseline) is stored: its id."""
    store = await open_store(db)
    story = await store.ensure_story("Story", guild_id=guild_id, now=T0)
    source = await store.add_source(story, "https://news.example/live", now=T0)
    await store.subscribe(story, guild_id=guild_id, channel_id=channel_id, now=T0)
    await poll(store, source, snap(entry(0)), now=T0)
    await store.close()
    return source


@pytest.mark.parametrize("seed", seeds())
async def test_kills_during_polling_and_delivery_lose_nothing_and_post_nothing_twice(
    discord_server, guild, tmp_path, seed
):
    rng = random.Random(seed)
    discord_server.limits.message_create = (50, 1.0)
    # each message takes a moment on the server, so kills often land with one in flight
    discord_server.inject("POST", "/channels/*/messages", status=None, times=10_000, delay=0.05)
    channel = guild.system_channel_id
    db = tmp_path / "bulletin.db"
    source = await baseline(db, guild.id, channel)
    expected = [f"Update {n}" for n in range(1, UPDATES + 1)]

    for _ in range(KILLS):
        poller = await start_poller(db, source, rng.randrange(1 << 30))
        deliverer = await start_worker(db, discord_server)
        await asyncio.sleep(rng.uniform(0.05, 0.6))
        first, second = (poller, deliverer) if rng.random() < 0.5 else (deliverer, poller)
        await kill(first)
        await asyncio.sleep(rng.uniform(0.0, 0.2))
        await kill(second)
        posted = titles(discord_server, channel)
        assert posted == expected[: len(posted)]  # in order and no repeats, even mid-way

    # then it is left to finish
    poller = await start_poller(db, source, seed)
    deliverer = await start_worker(db, discord_server)
    try:
        assert poller.stdout is not None
        assert (await asyncio.wait_for(poller.stdout.readline(), 30)).strip() == b"done"
        await discord_server.wait_until(lambda: len(titles(discord_server, channel)) >= UPDATES, 30)
        await asyncio.sleep(0.3)  # anything extra would arrive now
    finally:
        await kill(poller)
        await kill(deliverer)
    assert Counter(titles(discord_server, channel)) == Counter(expected)
    assert titles(discord_server, channel) == expected
