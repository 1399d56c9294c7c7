"""The web window of a real `bulletin run` in console mode: health, readiness that follows the
database, metrics that move as polls and deliveries happen, read with the client's parser."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import aiohttp

from tests.cli.process import Bulletin
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update
from tests.web.process import eventually, get_json, get_text, sample, web_url

NOW = datetime.now(UTC)
KEY_POINT = "The harbour opens at ten"


def recent(n: int) -> dict[str, object]:
    return update(n, at=NOW - timedelta(minutes=10 - n))


def write_config(path, server: SourceServer, *, web: str | None) -> None:
    table = f'[web]\nlisten = "{web}"\n' if web is not None else ""
    path.write_text(
        f"""
[database]
path = "run.db"

[polling]
interval = 1
min_interval = 1
timeout = 3
allow_private_addresses = ["{server.host_port}"]

{table}
[[stories]]
name = "Harbour festival"
sources = ["{server.url("/live")}"]

[[stories]]
name = "Broken story"
sources = ["{server.url("/broken")}"]
""",
        encoding="utf-8",
    )


async def test_health_readiness_and_metrics_move_with_polls_and_deliveries(tmp_path):
    async with SourceServer() as server:
        server.page("/live", live_page(recent(1), key_points=(KEY_POINT,)))
        server.status("/broken", 500)
        write_config(tmp_path / "bulletin.toml", server, web="127.0.0.1:0")
        async with (
            Bulletin("run", "--config", "bulletin.toml", cwd=tmp_path) as bulletin,
            aiohttp.ClientSession() as http,
        ):
            url = await web_url(bulletin)
            assert await get_json(http, f"{url}/healthz") == (
                200,
                {"status": "ok", "checks": {"event_loop": "ok"}},
            )

            async def ready() -> bool:
                return (await get_json(http, f"{url}/readyz"))[0] == 200

            await eventually(ready)
            _, body = await get_json(http, f"{url}/readyz")
            assert body == {"status": "ready", "checks": {"database": "ok", "scheduler": "ok"}}

            async def metrics() -> str:
                return (await get_text(http, f"{url}/metrics"))[1]

            async def first_round() -> str | None:
                text = await metrics()
                polled = sample(text, "bulletin_polls_total", outcome="changed")
                failed = sample(text, "bulletin_polls_total", outcome="failed")
                sent = sample(text, "bulletin_deliveries_total", outcome="sent")
                return text if polled and failed and sent else None

            before = await eventually(first_round)
            assert sample(before, "bulletin_fetch_bytes_total") >= len(
                live_page(recent(1), key_points=(KEY_POINT,))
            )
            assert sample(before, "bulletin_poll_duration_seconds_count") >= 2
            assert sample(before, "bulletin_sources", status="failing") == 1
            assert sample(before, "bulletin_sources", status="live") == 1
            assert sample(before, "bulletin_changes_total", kind="key_points") == 1
            for discord_only in ("discord_requests", "gateway_latency", "command_invocations"):
                assert f"bulletin_{discord_only}" in before  # registered, and empty
                assert not any(
                    line.startswith(f"bulletin_{discord_only}") for line in before.splitlines()
                )

            server.page("/live", live_page(recent(1), recent(2), key_points=(KEY_POINT,)))

            async def second_round() -> str | None:
                text = await metrics()
                new = sample(text, "bulletin_changes_total", kind="new")
                sent = sample(text, "bulletin_deliveries_total", outcome="sent")
                was = sample(before, "bulletin_deliveries_total", outcome="sent")
                return text if new >= 1 and sent > was else None

            after = await eventually(second_round)
            assert sample(after, "bulletin_polls_total", outcome="changed") > sample(
                before, "bulletin_polls_total", outcome="changed"
            )
            status, page = await get_text(http, f"{url}/")
            assert status == 200
            assert "Harbour festival update 2" in page
            assert f"HTTP 500 from {server.url('/broken')}" in page
            status = await bulletin.interrupt()
        assert status == 0, bulletin.err
        assert "Traceback" not in bulletin.err


async def test_readiness_follows_a_database_that_stops_answering(tmp_path):
    async with SourceServer() as server:
        server.page("/live", live_page(recent(1), key_points=(KEY_POINT,)))
        server.status("/broken", 500)
        write_config(tmp_path / "bulletin.toml", server, web=None)  # on by the flag alone
        args = ("run", "--config", "bulletin.toml", "--web-listen", "127.0.0.1:0")
        async with Bulletin(*args, cwd=tmp_path) as bulletin, aiohttp.ClientSession() as http:
            url = await web_url(bulletin)

            async def readiness(expected: int) -> dict[str, object] | None:
                status, body = await get_json(http, f"{url}/readyz")
                return body if status == expected else None

            await eventually(lambda: readiness(200))
            other = sqlite3.connect(tmp_path / "run.db", isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
                body = await eventually(lambda: readiness(503))
                assert body["status"] == "not ready"
                assert body["checks"]["scheduler"] == "ok"
                assert body["checks"]["database"] != "ok"
                status, _ = await get_json(http, f"{url}/healthz")
                assert status == 200  # the process itself answers all along
            finally:
                other.execute("ROLLBACK")
                other.close()
            body = await eventually(lambda: readiness(200))
            assert body["checks"] == {"database": "ok", "scheduler": "ok"}
            status = await bulletin.interrupt()
        assert status == 0, bulletin.err
