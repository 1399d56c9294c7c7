"""The bot token never shows: not in logs (even at debug level), errors, replies or crash output.

`bulletin run -v` runs as a subprocess against the fake Discord with a distinctive fake token;
everything it prints, and everything it answers in Discord, is searched for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.fakes.discord import Perm

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "MTk4NjIy.FAKE-bulletin-token.zq9XvT3kLw8pRr2Yh"
PIECES = (TOKEN, TOKEN.split(".")[1], TOKEN.split(".")[2])  # a token cut or partly masked


def config(tmp_path: Path, server, dev_guild: int | None) -> Path:
    path = tmp_path / "config.toml"
    lines = [
        "[discord]",
        'token_env = "BULLETIN_TEST_TOKEN"',
        f'api_base = "{server.api_base}"',
        f'gateway_url = "{server.gateway_url}"',
    ]
    if dev_guild is not None:
        lines.append(f"dev_guild = {dev_guild}")
    lines += ["[database]", f'path = "{tmp_path / "bulletin.db"}"']
    path.write_text("\n".join(lines) + "\n")
    return path


async def bulletin(tmp_path: Path, server, token: str, dev_guild: int | None = None):
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env |= {"PYTHONPATH": str(ROOT), "BULLETIN_TEST_TOKEN": token, "PYTHONFAULTHANDLER": "1"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "-v",
        "run",
        "--config",
        str(config(tmp_path, server, dev_guild)),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def assert_no_token(text: str) -> None:
    for piece in PIECES:
        assert piece not in text


async def test_a_refused_token_is_not_printed(discord_server, tmp_path):
    discord_server.token = "the-real-one"
    process = await bulletin(tmp_path, discord_server, TOKEN)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "refused the bot token" in err.decode()
    assert_no_token(out.decode() + err.decode())


async def test_the_token_is_in_no_log_reply_or_status_while_running(
    discord_server, guild, tmp_path
):
    discord_server.token = TOKEN
    process = await bulletin(tmp_path, discord_server, TOKEN, dev_guild=guild.id)
    try:
        await discord_server.wait_until(
            lambda: "source" in discord_server.registered(guild) and discord_server.sessions, 30
        )
        moderator = discord_server.add_member(
            guild, "mod", roles=[discord_server.add_role(guild, "mods", Perm.MANAGE_GUILD)]
        )
        answers = []
        for command, options in [
            ("source status", {}),
            ("source list", {}),
            ("source add", {"url": "http://127.0.0.1:9/refused"}),  # a fetch error
            ("stories", {}),
            ("help", {}),
        ]:
            inv = await discord_server.invoke(guild, moderator, command, options, timeout=15)
            answers.append(json.dumps([c.get("data") for c in inv.callbacks]))
        await discord_server.drop_gateway(4000)  # a reconnect logs a lot at debug level
        await discord_server.wait_until(lambda: discord_server.sessions, 15)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert_no_token("\n".join(answers))
    assert_no_token(out.decode() + err.decode())
    assert "DEBUG" in err.decode()  # the search did cover the debug logs


async def test_a_crash_dump_does_not_show_the_token(discord_server, guild, tmp_path):
    discord_server.token = TOKEN
    process = await bulletin(tmp_path, discord_server, TOKEN, dev_guild=guild.id)
    await discord_server.wait_until(lambda: discord_server.sessions, 30)
    process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == -signal.SIGABRT
    assert "Fatal Python error" in err.decode()
    assert_no_token(out.decode() + err.decode())
