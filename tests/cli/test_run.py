"""`bulletin run` in console mode as a subprocess, following a page on a local server."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.cli.process import ROOT, Bulletin
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update

NOW = datetime.now(UTC)
KEY_POINT = "The harbour opens at ten"


def recent(n: int):
    return update(n, at=NOW - timedelta(minutes=10 - n))


def write_config(path, server: SourceServer) -> None:
    path.write_text(
        f"""
[database]
path = "run.db"

[polling]
interval = 1
min_interval = 1
timeout = 3
allow_private_addresses = ["{server.host_port}"]

[[stories]]
name = "Harbour festival"
sources = ["{server.url("/live")}"]
""",
        encoding="utf-8",
    )


async def test_run_prints_the_key_points_then_new_updates_and_stops_on_ctrl_c(tmp_path):
    async with SourceServer() as server:
        server.page("/live", live_page(recent(1), key_points=(KEY_POINT,)))
        write_config(tmp_path / "bulletin.toml", server)
        async with Bulletin("run", "--config", "bulletin.toml", cwd=tmp_path) as bulletin:
            await bulletin.wait_for_output(lambda out: KEY_POINT in out)
            server.page("/live", live_page(recent(1), recent(2), key_points=(KEY_POINT,)))
            await bulletin.wait_for_output(lambda out: "Harbour festival update 2" in out)
            status = await bulletin.interrupt()
    assert status == 0, bulletin.err
    assert bulletin.out.index(KEY_POINT) < bulletin.out.index("Harbour festival update 2")
    assert (tmp_path / "run.db").is_file()
    assert "Traceback" not in bulletin.err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_a_signal_stops_it_cleanly_while_a_fetch_hangs(tmp_path, sig):
    async with SourceServer() as server:
        server.hang("/slow")  # accepted, never answered: in flight when the signal comes
        server.page("/live", live_page(recent(1), key_points=(KEY_POINT,)))
        (tmp_path / "bulletin.toml").write_text(
            f"""
[database]
path = "run.db"

[polling]
interval = 1
min_interval = 1
timeout = 300
allow_private_addresses = ["{server.host_port}"]

[[stories]]
name = "Slow"
sources = ["{server.url("/slow")}"]

[[stories]]
name = "Harbour festival"
sources = ["{server.url("/live")}"]
""",
            encoding="utf-8",
        )
        async with Bulletin("run", "--config", "bulletin.toml", cwd=tmp_path) as bulletin:
            await bulletin.wait_for_output(lambda out: KEY_POINT in out)
            async with asyncio.timeout(20):  # the slow fetch is in flight
                while not server.hits["/slow"]:  # noqa: ASYNC110 - a count has no event
                    await asyncio.sleep(0.05)
            # far less than the 300 s fetch timeout: the fetch is cancelled, not waited out
            status = await bulletin.stop(sig, within=30)
    assert status == 0, bulletin.err
    assert "Traceback" not in bulletin.err
    with closing(sqlite3.connect(tmp_path / "run.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        slow = db.execute(
            "SELECT last_polled, failures FROM sources WHERE url LIKE '%/slow'"
        ).fetchone()
    assert slow == (None, 0)  # the cancelled poll left nothing half-written


async def test_without_a_config_file_it_runs_on_built_in_defaults_and_says_so(tmp_path):
    async with Bulletin("run", cwd=tmp_path) as bulletin:  # no ./config.toml here
        await bulletin.wait_for_output(lambda out: "no stories to follow" in out)
        status = await bulletin.interrupt()
    assert status == 0, bulletin.err
    assert "no config file (config.toml not found): built-in defaults, 0 stories" in bulletin.err
    assert "[[stories]]" in bulletin.out  # and what to do about it
    assert (tmp_path / "bulletin.db").is_file()  # [database] path's default


async def test_a_config_toml_in_the_working_directory_is_read(tmp_path):
    async with SourceServer() as server:
        server.page("/live", live_page(recent(1), key_points=(KEY_POINT,)))
        write_config(tmp_path / "config.toml", server)
        async with Bulletin("run", cwd=tmp_path) as bulletin:
            await bulletin.wait_for_output(lambda out: KEY_POINT in out)
            status = await bulletin.interrupt()
    assert status == 0, bulletin.err
    assert "config from config.toml: 1 story" in bulletin.err
    assert (tmp_path / "run.db").is_file()


# Loaded by other modes, or only when a source needs them: console mode keeps them out of its
# memory (issue 15). discord.py is the Discord mode's; jinja2 and prometheus_client the web
# window's; aiohttp.web the demo's page server; feedparser reads rarer dates and damaged feeds;
# the html module's entity table is for entities beyond the common ones; frozenlist's compiled
# module (C++, it loads libstdc++) is left for its pure-Python twin by bot/__init__.py.
NOT_LOADED_IN_CONSOLE_MODE = (
    "discord",
    "jinja2",
    "prometheus_client",
    "aiohttp.web",
    "feedparser",
    "html",
    "frozenlist._frozenlist",
)
FEED = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Council</title>
<link>https://council.example/</link>
<item><guid>c1</guid><title>Harbour works agreed</title>
<pubDate>{format_datetime(NOW - timedelta(minutes=5))}</pubDate>
<description>&lt;p&gt;The council met &amp;amp; agreed the &lt;b&gt;next steps&lt;/b&gt;.&lt;/p&gt;
</description></item></channel></rss>"""


def _imported(importtime_log: str) -> set[str]:
    """The modules named by `python -X importtime`'s lines ("import time: ... | name")."""
    return {
        line.rpartition("|")[2].strip()
        for line in importtime_log.splitlines()
        if line.startswith("import time:")
    }


async def test_console_mode_does_not_load_what_it_does_not_use(tmp_path):
    async with SourceServer() as server:
        server.page("/live", live_page(recent(1), key_points=(KEY_POINT,)))
        server.page("/feed", FEED, content_type="application/rss+xml")
        write_config(tmp_path / "bulletin.toml", server)
        config = (tmp_path / "bulletin.toml").read_text(encoding="utf-8")
        feed = f'[[stories]]\nname = "Council"\nsources = ["{server.url("/feed")}"]\n'
        (tmp_path / "bulletin.toml").write_text(config + feed, encoding="utf-8")
        env = {"PYTHONPROFILEIMPORTTIME": "1"}  # every import, on stderr
        # as a user starts it: the tests' own process has set frozenlist's switch already
        unset = ("FROZENLIST_NO_EXTENSIONS",)
        async with Bulletin(
            "run", "--config", "bulletin.toml", cwd=tmp_path, env=env, unset=unset
        ) as bulletin:
            # both stories polled: the page's key points and the feed's summary shown
            await bulletin.wait_for_output(lambda out: KEY_POINT in out and "[Council]" in out)
            status = await bulletin.interrupt()
    assert status == 0, bulletin.err
    imported = _imported(bulletin.err)
    assert "bot.console" in imported and "lxml.etree" in imported  # the log is read right
    loaded = {
        name
        for name in imported
        for unwanted in NOT_LOADED_IN_CONSOLE_MODE
        if name == unwanted or name.startswith(f"{unwanted}.")
    }
    assert not loaded


BAD_CONFIGS = [
    ("[polling]\ninterval = 5\n", "polling.interval: must be at least min_interval (15), got 5"),
    ("[polling]\nintervall = 60\n", "polling.intervall: unknown key (did you mean interval?)"),
    ('[polling]\ninterval = "60"\n', "polling.interval: must be a whole number, got '60'"),
    (
        '[polling]\nallow_private_addresses = ["localhost"]\n',
        'polling.allow_private_addresses[0]: must be "host:port"',
    ),
    ('[polling]\nallow_private_addresses = "yes"\n', "polling.allow_private_addresses: must be"),
    (
        '[[stories]]\nname = "x"\nsources = [{ link = "https://a.example/" }]\n',
        "stories[0].sources[0].link: unknown key; expected one of: url, kind, selectors",
    ),
    (
        '[[stories]]\nname = "x"\nsources = ["https://[::1/live"]\n',
        "stories[0].sources[0]: must be an absolute http or https URL",
    ),
    (
        '[[stories]]\nname = "x"\nsources = [{ url = "https://a.example/", '
        'selectors = { entry = "div[[" } }]\n',
        "stories[0].sources[0].selectors: selector 'entry' is not valid CSS",
    ),
    ("[polling\ninterval = 60\n", "bad.toml: not valid TOML: Expected ']'"),
    ("[polling]\ninterval = 99999999999999999999\n", "polling.interval: must be at most 86400"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_a_bad_config_is_one_line_naming_the_key_and_exit_2(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", "bad.toml"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"bulletin run: {message}")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert result.stdout == ""


def test_a_missing_config_file_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", "nowhere.toml"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "config file not found" in result.stderr


BAD_SHARDS = [
    ([], "x", "--shard-ids: must be shard numbers separated by commas (0,1) or none, got 'x'"),
    ([], "", "--shard-ids: must be shard numbers separated by commas (0,1) or none, got ''"),
    ([], "0,0", "--shard-ids: shard 0 is given twice"),
    ([], "0", "--shard-ids 0 needs [discord] shard_count in the config"),
    (
        ["shard_count = 2"],
        "1,2",
        "--shard-ids: there is no shard 2 when [discord] shard_count is 2",
    ),
    (["shard_count = 0"], "0", "discord.shard_count: must be at least 1, got 0"),
    (["shard_count = 1.5"], None, "discord.shard_count: must be a whole number, got 1.5"),
]


@pytest.mark.parametrize(
    ("discord", "shard_ids", "message"), BAD_SHARDS, ids=[m for *_, m in BAD_SHARDS]
)
def test_bad_shards_are_one_line_naming_the_option_or_key_and_exit_2(
    tmp_path, discord, shard_ids, message
):
    (tmp_path / "bulletin.toml").write_text("[discord]\n" + "\n".join(discord), encoding="utf-8")
    option = [f"--shard-ids={shard_ids}"] if shard_ids is not None else []
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", "bulletin.toml", *option],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "DISCORD_TOKEN": "never-used"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"bulletin run: {message}")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert result.stdout == ""
