"""The web window of a real `bulletin run` on PostgreSQL (BULLETIN_DATABASE_URL): the status
page drawn from it, metrics gauges read from it, and readiness that follows what a write there
needs (a lock held on `sources` elsewhere makes it 503, naming the lock; its release, 200)."""

from __future__ import annotations

import aiohttp
import asyncpg

from tests import postgres
from tests.cli.process import Bulletin
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page
from tests.web.process import eventually, get_json, get_text, sample, web_url
from tests.web.test_run_console import KEY_POINT, recent, write_config


async def test_the_window_reads_postgresql_and_readiness_follows_its_locks(tmp_path):
    async with postgres.fresh_database() as url, SourceServer() as server:
        server.page("/live", live_page(recent(1), recent(2), key_points=(KEY_POINT,)))
        server.status("/broken", 500)
        write_config(tmp_path / "bulletin.toml", server, web="127.0.0.1:0")
        args = ("run", "--config", "bulletin.toml")
        env = {"BULLETIN_DATABASE_URL": url}
        async with (
            Bulletin(*args, cwd=tmp_path, env=env) as bulletin,
            aiohttp.ClientSession() as http,
        ):
            web = await web_url(bulletin)

            async def readiness(expected: int) -> dict[str, object] | None:
                status, body = await get_json(http, f"{web}/readyz")
                return body if status == expected else None

            await eventually(lambda: readiness(200))

            async def page() -> str | None:
                status, text = await get_text(http, f"{web}/")
                ready = status == 200 and f"HTTP 500 from {server.url('/broken')}" in text
                return text if ready and KEY_POINT in text else None

            text = await eventually(page)
            assert "Harbour festival" in text and "Broken story" in text
            _, metrics = await get_text(http, f"{web}/metrics")
            assert sample(metrics, "bulletin_sources", status="failing") == 1
            assert sample(metrics, "bulletin_sources", status="live") == 1

            other = await asyncpg.connect(url)
            try:
                transaction = other.transaction()
                await transaction.start()
                await other.execute("LOCK TABLE sources IN SHARE MODE")
                body = await eventually(lambda: readiness(503))
                assert body is not None and "sources has been locked" in str(body["checks"])
                assert (await get_json(http, f"{web}/healthz"))[0] == 200
                await transaction.rollback()
            finally:
                await other.close()
            body = await eventually(lambda: readiness(200))
            assert body == {"status": "ready", "checks": {"database": "ok", "scheduler": "ok"}}
            status = await bulletin.interrupt()
        assert status == 0, bulletin.err
        assert "Traceback" not in bulletin.err
        assert "database: PostgreSQL postgresql://postgres@127.0.0.1" in bulletin.err
