"""kill -9 of the real app while it polls: `python -m bot run --config FILE` in console mode.

A SourceServer on 127.0.0.1 grows by one update per request (the baseline shows update 1; each
later poll one more, up to LAST). The app polls every second; it is killed with SIGKILL at
seeded random moments and started again, KILLS times, then runs until it has printed update
LAST. Across all runs' stdout every update 2..LAST is printed, oldest first.

The bound, decided: the console sink prints a row and then marks it sent, one row at a time, so
a kill between the two prints that row again at the next start, and nothing else can repeat.
Hence every update is printed once or twice; a second print only ever comes as the first update
printed by the next run, equal to the last one printed by the run killed before it (so at most
one repeat per kill); with those repeats taken out the output is exactly 2..LAST in order.
Two kills run in `make test`; BULLETIN_SOAK=N runs N seeds with more kills, BULLETIN_SEED=S
replays one seed (as tests/faults/test_kill_soak.py does).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update

ROOT = Path(__file__).resolve().parents[2]
LAST = 9
TITLE = re.compile(r"Harbour festival update (\d+)$", re.MULTILINE)
SOAK = os.environ.get("BULLETIN_SOAK", "")


def seeds() -> list[int]:
    if "BULLETIN_SEED" in os.environ:
        return [int(os.environ["BULLETIN_SEED"])]
    count = (10 if SOAK in ("1", "yes", "true") else int(SOAK)) if SOAK else 1
    return list(range(count))


KILLS = 4 if SOAK else 2


@pytest.fixture
async def growing() -> AsyncIterator[SourceServer]:
    """A page that shows one more update at each request (update 1 only at the first)."""
    # Dated minutes ago: a story whose updates are days old would count as ended (hourly polls).
    start = datetime.now(UTC) - timedelta(minutes=30)
    async with SourceServer() as server:

        async def grow(request: web.Request) -> web.Response:
            shown = min(server.hits["/live"], LAST)
            body = live_page(
                *(update(n, at=start + timedelta(minutes=n)) for n in range(1, shown + 1))
            )
            return web.Response(body=body, content_type="text/html", charset="utf-8")

        server.route("/live", grow)
        yield server


def write_config(directory: Path, server: SourceServer) -> Path:
    config = directory / "config.toml"
    config.write_text(
        f"""
[database]
path = "{directory / "bulletin.db"}"

[polling]
interval = 1
min_interval = 1
timeout = 3
allow_private_addresses = ["{server.host_port}"]

[[stories]]
name = "Harbour"
sources = ["{server.url("/live")}"]
""",
        encoding="utf-8",
    )
    return config


async def launch(config: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}  # console mode
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        cwd=config.parent,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def killed_run(config: Path, after: float) -> list[int]:
    """One run killed with SIGKILL AFTER seconds: the updates it printed."""
    process = await launch(config)
    await asyncio.sleep(after)
    process.send_signal(signal.SIGKILL)
    out, _ = await process.communicate()
    return [int(n) for n in TITLE.findall(out.decode())]


async def last_run(config: Path) -> list[int]:
    """A run left going until it prints update LAST, then stopped with SIGTERM."""
    process = await launch(config)
    assert process.stdout is not None
    printed: list[int] = []
    try:
        async with asyncio.timeout(60):
            while LAST not in printed:
                line = await process.stdout.readline()
                assert line, "the app stopped before printing every update"
                printed += [int(n) for n in TITLE.findall(line.decode().rstrip("\n"))]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        rest, _ = await process.communicate()
    return printed + [int(n) for n in TITLE.findall(rest.decode())]


async def runs_with_kills(tmp_path: Path, server: SourceServer, seed: int) -> list[list[int]]:
    pace = random.Random(seed)
    config = write_config(tmp_path, server)
    runs = [await killed_run(config, pace.uniform(0.8, 3.5)) for _ in range(KILLS)]
    return [*runs, await last_run(config)]


@pytest.mark.parametrize("seed", seeds())
async def test_kills_during_polling_print_every_update_in_order_at_most_one_repeat_per_kill(
    tmp_path, growing, seed
):
    runs = await runs_with_kills(tmp_path, growing, seed)
    for printed in runs:
        assert printed == sorted(set(printed))  # within one run: each once, oldest first
    joined: list[int] = []
    repeats = 0
    for printed in runs:
        if printed and joined and printed[0] == joined[-1]:
            printed = printed[1:]  # the row a kill caught between print and mark
            repeats += 1
        joined += printed
    assert joined == list(range(2, LAST + 1)), runs
    assert repeats <= KILLS
