"""The Discord bot: a `commands.Bot` handed its resources, its cogs, its sync, its life.

bot = BulletinBot(runtime)                  # the store, fetcher, scheduler made by the app
await run_discord(runtime, token, stop=stop_event)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import pkgutil
from datetime import UTC, datetime
from types import SimpleNamespace

import aiohttp
import discord
from discord.ext import commands

import cogs
from bot.delivery.digest import TICK_SECONDS as DIGEST_TICK_SECONDS
from bot.delivery.digest import Digests
from bot.delivery.discord_sink import DiscordSink
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelPacer, RateLimiter
from bot.delivery.sinks import LogSink
from bot.discord.endpoints import point_discord_at
from bot.discord.tree import BulletinTree
from bot.errors import BulletinError
from bot.observe import Shard
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def cog_extensions() -> list[str]:
    """Every module of the `cogs` package, as extension names."""
    return sorted(
        f"{cogs.__name__}.{info.name}"
        for info in pkgutil.iter_modules(cogs.__path__)
        if not info.name.startswith("_")
    )


def intents() -> discord.Intents:
    """Only the guilds intent: servers, channels, roles and the bot's own member. Slash
    commands need no message or member intents (none of them privileged)."""
    return discord.Intents(guilds=True)


class BulletinBot(commands.Bot):
    """Bulletin on Discord. Resources come in with `runtime`; nothing is made here."""

    def __init__(self, runtime: Runtime, **options: object) -> None:
        options.setdefault("guild_ready_timeout", 0.5)
        self.runtime = runtime  # before the tree is made: it reads the command rate from it
        pacer = ChannelPacer()  # fed by the rate-limit headers of discord.py's own requests
        trace = pacer.trace_config()
        trace.on_request_end.append(self._count_request)  # every answer Discord gives, counted
        options.setdefault("http_trace", trace)
        # Bulletin never joins voice: discord.py's warnings about voice libraries are noise.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            help_command=None,
            tree_cls=BulletinTree,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,  # type: ignore[arg-type]
        )
        limiter = RateLimiter(
            runtime.config.delivery.rate, on_wait=runtime.observer.rate_limiter_waited
        )
        self.delivery = DiscordSink(self, runtime.store, limiter=limiter, pacer=pacer)
        self.dispatcher = Dispatcher(
            runtime.store,
            # the config's stories' alerts (no server) go to the log: no terminal reads them
            {"discord": self.delivery, "console": LogSink()},
            wakeup=runtime.delivery_wakeup,
            observer=runtime.observer,
        )
        self.digests = Digests(runtime.store, wakeup=runtime.delivery_wakeup)
        self._delivery_stop = asyncio.Event()
        self._delivery_task: asyncio.Task[None] | None = None
        runtime.gateway = self  # readiness, metrics and the status page ask it (`Gateway`)

    # --- what the connection says of itself (bot.observe.Gateway) ----------------------------

    def gateway_shards(self) -> list[Shard]:
        """The shards held here: connected or not, and their heartbeat latency."""
        held = getattr(self, "shards", None)  # an AutoShardedBot's ShardInfo, by id
        if isinstance(held, dict) and held:
            return [
                Shard(shard_id, not info.is_closed(), _finite(info.latency))
                for shard_id, info in sorted(held.items())
            ]
        ws = self.ws
        connected = ws is not None and ws.open and self.is_ready() and not self.is_closed()
        latency = _finite(ws.latency) if connected else None
        return [Shard(self.shard_id or 0, connected, latency)]

    def guild_name(self, guild_id: int) -> str | None:
        guild = self.get_guild(guild_id)
        return None if guild is None else guild.name

    def channel_name(self, channel_id: int) -> str | None:
        channel = self.get_channel(channel_id)
        return getattr(channel, "name", None)

    async def _count_request(
        self,
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        status = params.response.status
        if status != 101:  # the gateway's upgrade is no REST answer
            self.runtime.observer.discord_answered(status)

    @property
    def dev_guild(self) -> int | None:
        return self.runtime.config.discord.dev_guild

    async def setup_hook(self) -> None:
        for name in cog_extensions():
            await self.load_extension(name)
        if self.dev_guild is not None:
            await self.sync_dev_guild()
        else:
            await self._check_global_commands()
        await self.start_delivery()

    async def _check_global_commands(self) -> None:
        """Without a dev guild nothing is synced at start, and /sync exists nowhere: say so
        when no command is registered globally yet (else Discord shows the bot with none)."""
        try:
            registered = await self.tree.fetch_commands()
        except discord.HTTPException as error:
            log.warning("could not list the registered slash commands: %s", error)
            return
        if not registered:
            log.warning(
                "no slash commands are registered for this bot: set [discord] dev_guild to the "
                "id of a server of yours, restart, and run /sync global:true there"
            )

    async def start_delivery(self) -> None:
        """Drain the outbox to Discord (and moderators' alerts); close digest periods."""
        await self.digests.close_due()
        self.runtime.scheduler.add_job(
            self.digests.close_due,
            "interval",
            seconds=DIGEST_TICK_SECONDS,
            id="digests",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
        self._delivery_task = asyncio.create_task(
            self.dispatcher.run(self._delivery_stop), name="discord-delivery"
        )

    async def close(self) -> None:
        self._delivery_stop.set()
        if self._delivery_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._delivery_task, 5)
        await super().close()

    async def sync_dev_guild(self) -> int:
        """Copy the global commands to the dev server and register them there: the number."""
        assert self.dev_guild is not None
        target = discord.Object(self.dev_guild)
        self.tree.copy_global_to(guild=target)
        synced = await self.tree.sync(guild=target)
        log.info("synced %d commands to dev guild %s", len(synced), self.dev_guild)
        return len(synced)

    async def on_ready(self) -> None:
        # The bot is in these servers, whatever they did while it was away: keep their data.
        now = datetime.now(UTC)
        present = {guild.id for guild in self.guilds}  # unavailable ones too: still members
        for guild_id in present:
            await self.runtime.store.guild_joined(guild_id, now=now)
        # Servers that removed the bot while it was offline sent no GUILD_DELETE: their data
        # goes 7 days from now, as if it had just left.
        for guild_id in await self.runtime.store.present_guilds():
            if guild_id not in present:
                await self.runtime.store.guild_left(guild_id, now=now)
                log.info(
                    "guild %s removed the bot while it was away; its data goes in 7 days", guild_id
                )
        log.info("ready as %s in %d servers", self.user, len(self.guilds))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.runtime.store.guild_joined(guild.id, now=datetime.now(UTC))
        log.info("joined guild %s", guild.id)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        # A GUILD_CREATE marked available (after an outage, or a rejoin as some servers send
        # it): the bot is there, so the server's data stays.
        await self.runtime.store.guild_joined(guild.id, now=datetime.now(UTC))

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        # The store deletes the server's data 7 days from now unless the bot comes back.
        await self.runtime.store.guild_left(guild.id, now=datetime.now(UTC))
        log.info("left guild %s; its data goes in 7 days unless the bot returns", guild.id)


def _finite(value: float) -> float | None:
    """A latency, or None before the first heartbeat was answered (discord.py says inf/nan)."""
    return value if math.isfinite(value) else None


async def run_discord(runtime: Runtime, token: str, *, stop: asyncio.Event) -> None:
    """Run the bot until `stop` is set, then close it cleanly. Raises BulletinError when
    Discord refuses the token or the bot stops on its own with an error."""
    config = runtime.config.discord
    point_discord_at(config.api_base, config.gateway_url)
    bot = BulletinBot(runtime)
    async with bot:
        runner = asyncio.create_task(bot.start(token), name="discord")
        stopper = asyncio.create_task(stop.wait(), name="discord-stop")
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not runner.done():
                await bot.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(runner, 10)
        error = runner.exception() if not runner.cancelled() else None
        if isinstance(error, discord.LoginFailure):
            raise BulletinError(
                f"Discord refused the bot token (from ${config.token_env}); check it"
            ) from None
        if isinstance(error, discord.PrivilegedIntentsRequired):
            raise BulletinError("Discord refused the gateway intents") from None
        if isinstance(error, BulletinError):
            raise error
        if error is not None:
            raise BulletinError(
                f"the Discord connection stopped: {type(error).__name__}: {error}"
            ) from error
    log.info("disconnected from Discord")
