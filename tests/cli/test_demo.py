"""`bulletin demo` as a subprocess, with fast steps."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import aiohttp

from bot.demo.story import EDITED_SLUG, KEY_POINTS_AFTER, KEY_POINTS_BEFORE, UPDATES
from tests.cli.process import ROOT, Bulletin

DONE = "stopped changing"


async def test_demo_shows_the_story_growing_then_stops_on_ctrl_c(tmp_path):
    # steps of 1 s against polls every second: the update later corrected is seen before
    # its correction (two steps apart), so the correction shows as an edit
    async with Bulletin("demo", "--step-seconds", "1", cwd=tmp_path) as bulletin:
        await bulletin.wait_for_output(lambda out: DONE in out, within=40)
        status = await bulletin.interrupt()
    out = " ".join(bulletin.out.split())  # lines are wrapped for the terminal
    assert status == 0, bulletin.err
    assert KEY_POINTS_BEFORE[0] in out
    assert out.index("Key points:") < out.index("key points changed:")
    assert KEY_POINTS_AFTER[0] in out
    later = [u for u in UPDATES if u.step > 0]
    assert all(out.count(u.headline) >= 1 for u in later)
    edited = next(u for u in UPDATES if u.slug == EDITED_SLUG)
    assert f"edited: {edited.headline}" in out
    assert list(tmp_path.iterdir()) == []  # its database was temporary
    assert bulletin.out.endswith("\nDemo stopped.\n")
    assert " INFO " not in bulletin.err and "Traceback" not in bulletin.err  # no log clutter
    assert bulletin.out.count("Ctrl-C") == 2  # said once at start and once when it is still


async def test_demo_serves_its_status_page_at_the_loopback_address_it_prints(tmp_path):
    async with Bulletin("demo", "--step-seconds", "1", cwd=tmp_path) as bulletin:
        await bulletin.wait_for_output(lambda out: "Status page: http://127.0.0.1:" in out)
        url = re.search(r"Status page: (http://127\.0\.0\.1:\d+)/", bulletin.out).group(1)
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(15):
                while True:  # ready once polling has started
                    async with http.get(f"{url}/readyz") as response:
                        if response.status == 200:
                            break
                    await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as http, http.get(f"{url}/") as response:
            assert response.status == 200
            assert "Kestrel-4 launch (demo)" in await response.text()
        status = await bulletin.interrupt()
    assert status == 0, bulletin.err


def test_demo_rejects_a_step_that_is_not_positive(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--step-seconds", "0"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "--step-seconds" in result.stderr
