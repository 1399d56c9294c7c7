"""The web window's token, with a real `bulletin run`: beyond loopback it is required to start,
every request then needs it, and it never reaches a log line, a link or a page."""

from __future__ import annotations

import secrets
import subprocess
import sys

import aiohttp

from tests.cli.process import ROOT, Bulletin
from tests.web.process import get_json, get_text, web_url

CONFIG = """
[database]
path = "run.db"

[web]
listen = "0.0.0.0:0"
"""


def test_a_bind_beyond_loopback_without_a_token_refuses_to_start_naming_the_variable(tmp_path):
    (tmp_path / "bulletin.toml").write_text(CONFIG, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", "bulletin.toml"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    last = result.stderr.splitlines()[-1]
    assert last.startswith("bulletin run: web.listen: 0.0.0.0:0 is not a loopback address")
    assert last.endswith("set the environment variable BULLETIN_WEB_TOKEN")
    assert not (tmp_path / "run.db").exists()  # refused before anything was opened


def test_the_flag_is_checked_like_the_config(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--web-listen", "[::]:8080"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OTHER_TOKEN": "x"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("BULLETIN_WEB_TOKEN")


async def test_every_request_needs_the_token_which_never_reaches_a_log_or_page(tmp_path):
    token = "web-" + secrets.token_urlsafe(24)
    (tmp_path / "bulletin.toml").write_text(CONFIG, encoding="utf-8")
    env = {"BULLETIN_WEB_TOKEN": token}
    async with (
        Bulletin("-v", "run", "--config", "bulletin.toml", cwd=tmp_path, env=env) as bulletin,
        # as a browser does, cookies are kept for an address that is an IP (127.0.0.1)
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        url = await web_url(bulletin)  # bound on every address; asked over loopback
        for path in ("/healthz", "/readyz", "/metrics", "/", "/stories/1"):
            status, body = await get_text(http, f"{url}{path}")
            assert status == 401, path
            assert token not in body
        wrong = {"Authorization": "Bearer not-" + token}
        assert (await get_text(http, f"{url}/healthz", headers=wrong))[0] == 401
        bearer = {"Authorization": f"Bearer {token}"}
        assert await get_json(http, f"{url}/healthz", headers=bearer) == (
            200,
            {"status": "ok", "checks": {"event_loop": "ok"}},
        )
        assert (await get_text(http, f"{url}/metrics", headers=bearer))[0] == 200
        assert (await get_text(http, f"{url}/?token=wrong"))[0] == 401

        async with http.get(f"{url}/?token={token}&x=1", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/?x=1"  # the same address, without it
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and token not in cookie
        status, page = await get_text(http, f"{url}/")  # the session keeps the cookie
        assert status == 200 and "Bulletin status" in page
        assert token not in page
        status = await bulletin.interrupt()
    assert status == 0, bulletin.err
    assert token not in bulletin.err and token not in bulletin.out
    assert " DEBUG " in bulletin.err  # the log was as talkative as it gets
