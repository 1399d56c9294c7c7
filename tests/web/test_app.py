"""The web window's server in process: its routes, their headers, and a missing story."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC

import aiohttp
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config, WebConfig
from bot.errors import BulletinError
from bot.runtime import Runtime
from bot.store import open_store
from bot.web import Metrics, WebWindow
from tests.cli.process import ROOT


@pytest.fixture
async def runtime(tmp_path) -> AsyncIterator[Runtime]:
    store = await open_store(tmp_path / "app.db")
    config = Config(web=WebConfig(listen="127.0.0.1:0"))
    yield Runtime(config, store, None, AsyncIOScheduler(timezone=UTC))  # type: ignore[arg-type]
    await store.close()


@pytest.fixture
async def url(runtime) -> AsyncIterator[str]:
    window = WebWindow(runtime, Metrics())
    yield await window.start()
    await window.stop()


async def test_pages_forbid_scripts_and_are_never_cached(url):
    async with aiohttp.ClientSession() as http, http.get(f"{url}/") as response:
        assert response.status == 200
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "No stories yet" in await response.text()


async def test_a_story_that_does_not_exist_is_404(url):
    async with aiohttp.ClientSession() as http, http.get(f"{url}/stories/99") as response:
        assert response.status == 404


async def test_the_style_sheet_has_both_schemes(url):
    async with aiohttp.ClientSession() as http, http.get(f"{url}/style.css") as response:
        assert response.content_type == "text/css"
        assert "prefers-color-scheme: dark" in await response.text()


async def test_readiness_says_the_scheduler_is_not_running_before_polling_starts(url):
    async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as response:
        assert response.status == 503
        assert await response.json() == {
            "status": "not ready",
            "checks": {"database": "ok", "scheduler": "not running"},
        }


async def test_metrics_are_the_text_format(url):
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE bulletin_polls_total counter" in await response.text()


async def test_a_port_in_use_is_one_clear_error(runtime, url):
    port = url.rsplit(":", 1)[1]
    taken = Runtime(
        Config(web=WebConfig(listen=f"127.0.0.1:{port}")),
        runtime.store,
        None,  # type: ignore[arg-type]
        AsyncIOScheduler(timezone=UTC),
    )
    with pytest.raises(BulletinError, match=f"web.listen: cannot listen on 127.0.0.1:{port}"):
        await WebWindow(taken, Metrics()).start()


def test_the_web_window_loads_no_discord_py_in_console_mode():
    code = "import sys, bot.app, bot.web; print('discord' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"
