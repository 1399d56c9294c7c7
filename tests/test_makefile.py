"""`make run`: one line saying what it will do comes before anything else, then it does that.

The Makefile runs from a folder of the test's own (`make -f`), with `VENV` pointing at a folder
whose `bin/bulletin` is this environment's real `bulletin` and whose install stamp is fresh, so
nothing is installed. Without a token it is the demo (stopped with Ctrl-C); with one, the Discord
bot, pointed by ./config.toml at a closed port on 127.0.0.1 so that it never leaves the machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BULLETIN = Path(sys.executable).parent / "bulletin"

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None and os.environ.get("CI") != "true",
    reason="make is not installed (the README's quick start needs it)",
)


def venv_with_real_bulletin(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "bulletin").symlink_to(BULLETIN)
    (venv / ".installed").touch()  # newer than pyproject.toml: no install
    return venv


async def start_make_run(tmp_path: Path, token: str | None) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "MAKEFLAGS")}
    if token is not None:
        env["DISCORD_TOKEN"] = token
    venv = venv_with_real_bulletin(tmp_path)
    return await asyncio.create_subprocess_exec(
        "make",
        "--no-print-directory",
        "-f",
        str(ROOT / "Makefile"),
        "run",
        f"VENV={venv}",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # Ctrl-C reaches make and bulletin together, as in a terminal
    )


async def test_without_a_token_make_run_says_so_first_then_runs_the_demo(tmp_path):
    process = await start_make_run(tmp_path, token=None)
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    try:
        # Ctrl-C once the demo follows its page (before that, Ctrl-C is exit 130, as usual)
        while not any("is following" in line for line in lines):
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, f"make run ended early: {lines}"
            lines.append(line.decode())
    finally:
        os.killpg(process.pid, signal.SIGINT)
    rest, err = await asyncio.wait_for(process.communicate(), 30)
    first, second = lines[:2]
    assert first == (
        "DISCORD_TOKEN is not set: starting the console demo (bulletin demo); Ctrl-C stops it.\n"
    )
    assert second.startswith("Bulletin demo: a made-up live page about a rocket launch is")
    # make itself dies of the Ctrl-C, as make does; the demo under it stopped cleanly (make
    # would say "make: *** ... Error" or "Interrupt" had it not exited 0)
    assert process.returncode in (0, -signal.SIGINT), err.decode()
    assert rest.decode().endswith("\nDemo stopped.\n")
    assert b"Traceback" not in err and b"make: ***" not in err


async def test_with_a_token_make_run_says_so_first_then_runs_the_discord_bot(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[discord]\napi_base = "http://127.0.0.1:9/api/v10"\ngateway_url = "ws://127.0.0.1:9/"\n'
        '[database]\npath = "bulletin.db"\n',
        encoding="utf-8",
    )
    process = await start_make_run(tmp_path, token="not-a-real-token")
    out, err = await asyncio.wait_for(process.communicate(), 60)
    lines = out.decode().splitlines()
    assert lines[0] == "DISCORD_TOKEN is set: starting the Bulletin Discord bot (bulletin run)."
    # `bulletin run` (it read ./config.toml) with the token: not the console, not the demo;
    # it went for Discord, here a closed local port, and stopped
    assert "config from config.toml" in err.decode()
    assert "console mode" not in out.decode() and "Bulletin demo" not in out.decode()
    assert process.returncode != 0
    assert "not-a-real-token" not in out.decode() + err.decode()
