"""The web window of a real `bulletin run` on Discord (the fake Discord server): readiness that
follows the gateway, and the Discord metrics moving as the bot works."""

from __future__ import annotations

import secrets

import aiohttp

from tests.cli.process import Bulletin
from tests.fakes.discord import FakeDiscord, Perm
from tests.fakes.discord_fixtures import BOT_PERMISSIONS
from tests.fakes.source_server import SourceServer
from tests.services.pages import live_page
from tests.web.process import eventually, get_json, get_text, sample, web_url

STORY = "Harbour watch"
KEY_POINTS = ["The ferry runs again", "Quay three stays closed"]
UPDATES = [
    ("h1", "Storm passes the harbour", "The wind dropped after midnight. Boats stayed moored."),
    ("h2", "Ferry service resumes", "The first ferry left at seven with forty passengers."),
]


async def test_readiness_follows_the_gateway_and_discord_metrics_move(tmp_path):
    token = "Bulletin-web." + secrets.token_urlsafe(24)
    discord = FakeDiscord(token=token, heartbeat_interval_ms=300)
    await discord.start()
    try:
        guild = discord.add_guild("Harbour town", bot_permissions=BOT_PERMISSIONS)
        async with SourceServer() as sources, aiohttp.ClientSession() as http:
            sources.page(
                "/harbour", live_page("Harbour watch: live", UPDATES, key_points=KEY_POINTS)
            )
            (tmp_path / "bulletin.toml").write_text(
                f"""
[discord]
api_base = "{discord.api_base}"
gateway_url = "{discord.gateway_url}"
dev_guild = {guild.id}

[database]
path = "bulletin.db"

[polling]
interval = 15
timeout = 3
allow_private_addresses = ["{sources.host_port}"]

[web]
listen = "127.0.0.1:0"

[[stories]]
name = "{STORY}"
sources = ["{sources.url("/harbour")}"]
""",
                encoding="utf-8",
            )
            env = {"DISCORD_TOKEN": token}
            async with Bulletin(
                "run", "--config", "bulletin.toml", cwd=tmp_path, env=env
            ) as bulletin:
                url = await web_url(bulletin)

                async def readiness(expected: int) -> dict[str, object] | None:
                    status, body = await get_json(http, f"{url}/readyz")
                    return body if status == expected else None

                body = await eventually(lambda: readiness(200), within=30)
                assert body["checks"] == {"database": "ok", "scheduler": "ok", "gateway": "ok"}

                moderator = discord.add_member(
                    guild,
                    "mod",
                    roles=[discord.add_role(guild, "mods", Perm.MANAGE_CHANNELS)],
                )
                # Discord says 429 once (discord.py waits and asks again): counted too
                discord.inject("POST", "/channels/*/messages", status=429, retry_after=0.1)
                # the last two updates are posted at once: deliveries to count
                await discord.invoke(guild, moderator, "subscribe", {"story": STORY, "backfill": 2})

                async def metrics() -> str:
                    return (await get_text(http, f"{url}/metrics"))[1]

                async def worked() -> str | None:
                    text = await metrics()
                    done = (
                        sample(text, "bulletin_command_invocations_total", command="subscribe")
                        and sample(text, "bulletin_deliveries_total", outcome="sent")
                        and sample(text, "bulletin_gateway_latency_seconds", shard="0")
                    )
                    return text if done else None

                text = await eventually(worked, within=30)
                assert sample(text, "bulletin_discord_requests_total", status="200") > 0
                assert sample(text, "bulletin_discord_requests_total", status="429") >= 1
                assert sample(text, "bulletin_rate_limiter_wait_seconds_count") >= 1

                _, page = await get_text(http, f"{url}/")
                assert "Harbour town" in page  # the server's name, from the gateway
                await discord.gateway_outage()
                body = await eventually(lambda: readiness(503), within=15)
                assert body["checks"]["gateway"] == "shard 0 not connected"
                assert body["checks"]["database"] == "ok"
                text = await metrics()
                assert "bulletin_gateway_latency_seconds{" not in text  # no connected shard

                discord.gateway_back()
                body = await eventually(lambda: readiness(200), within=30)
                assert body["checks"]["gateway"] == "ok"
                status = await bulletin.interrupt()
            assert status == 0, bulletin.err
            assert token not in bulletin.err
    finally:
        await discord.close()
