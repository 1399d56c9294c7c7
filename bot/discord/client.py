"""The Discord bot: a `commands.AutoShardedBot` handed its resources, its cogs, its sync, its life.

bot = BulletinBot(runtime)                  # the store, fetcher, scheduler made by the app
bot = BulletinBot(runtime, shard_ids=(1,))  # only shard 1 of [discord] shard_count
await run_discord(runtime, token, stop=stop_event, shard_ids=None)

A process holds the shards `bot.discord.shards.Shards` says (every one by default; a single
shard is shard 0 of 1). With no shard at all (`--shard-ids none`) it logs in for REST only and
connects no gateway: it polls and delivers, and answers no command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import pkgutil
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
from discord.ext import commands

import cogs
from bot.delivery.digest import TICK_SECONDS as DIGEST_TICK_SECONDS
from bot.delivery.digest import Digests
from bot.delivery.discord_sink import DiscordSink
from bot.delivery.discord_sink.mentions import SnowflakeMentions
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelPacer, RateLimiter
from bot.delivery.sinks import LogSink
from bot.discord.endpoints import point_discord_at
from bot.discord.shards import Shards, left_while_away, shard_of
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


class BulletinBot(commands.AutoShardedBot):
    """Bulletin on Discord. Resources come in with `runtime`; nothing is made here.

    SHARD_IDS are the gateway shards this process holds: None for every shard of
    `[discord] shard_count`, () for none (REST only: see `serve`)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        shard_ids: tuple[int, ...] | None = None,
        **options: Any,  # commands.AutoShardedBot's options
    ) -> None:
        # (discord.py's own `shards` maps the connected ones to their state)
        self.shard_plan = Shards(runtime.config.discord.shard_count, shard_ids)
        if self.shard_plan.gateway:
            options.setdefault("shard_count", self.shard_plan.count)
            if self.shard_plan.ids is not None:
                options.setdefault("shard_ids", list(self.shard_plan.ids))
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
            allowed_mentions=SnowflakeMentions.none(),
            **options,
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
        self._closed_event = asyncio.Event()  # ends `serve` without a gateway
        runtime.gateway = self  # readiness, metrics and the status page ask it (`Gateway`)

    # --- what the connection says of itself (bot.observe.Gateway) ----------------------------

    def holds_gateway(self) -> bool:
        return self.shard_plan.gateway

    def gateway_shards(self) -> list[Shard]:
        """The shards held here: connected or not, and their heartbeat latency."""
        if not self.shard_plan.gateway:
            return []  # REST only (`--shard-ids none`): no gateway to be connected to
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
        log.info("holding %s", self.shard_plan.describe())
        if self.shard_plan.gateway:
            # Interactions come over the gateway: without it there is nothing to answer.
            for name in cog_extensions():
                await self.load_extension(name)
            if self.shard_count is None:
                self.shard_count = await self._recommended_shard_count()
        if not self.shard_plan.speaks_for_the_fleet:
            # Discord allows two syncs a minute: a fleet restarting would stall on that.
            log.info("commands are registered by the process holding shard 0, not this one")
        elif self.dev_guild is not None:
            await self.sync_dev_guild()
        else:
            await self._check_global_commands()
        await self.start_delivery()

    async def _recommended_shard_count(self) -> int:
        """The shard count Discord recommends. Asked here rather than by discord.py, which
        would then connect to the address /gateway/bot gives instead of `[discord]
        gateway_url`."""
        count, _, _ = await self.http.get_bot_gateway()
        log.info("Discord recommends %d shard%s", count, "" if count == 1 else "s")
        return count

    async def serve(self, token: str) -> None:
        """Log in and run until closed: on the gateway with the shards held, or, holding none,
        over REST only (the setup hook's delivery and the poller run; nothing waits for the
        gateway's READY or reads its cache)."""
        if self.shard_plan.gateway:
            await self.start(token)
            return
        await self.login(token)
        log.info("logged in as %s without a gateway connection", self.user)
        await self._closed_event.wait()

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
        self._closed_event.set()
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

    async def on_shard_ready(self, shard_id: int) -> None:
        """A shard's READY and its servers are in. Every process sees only its own shards'
        servers, so only this shard's stored servers are weighed here, never another's."""
        assert self.shard_count is not None  # set before any shard connects
        now = datetime.now(UTC)
        # The bot is in these servers, whatever they did while it was away: keep their data.
        # (After a shard IDENTIFYs again mid-run, discord.py keeps the servers it had cached for
        # it: one that removed the bot in that gap counts as left only at the next start.)
        present = {  # unavailable ones too: still members
            guild.id for guild in self.guilds if shard_of(guild.id, self.shard_count) == shard_id
        }
        for guild_id in present:
            await self.runtime.store.guild_joined(guild_id, now=now)
        # Servers that removed the bot while it was offline sent no GUILD_DELETE: their data
        # goes 7 days from now, as if it had just left.
        gone = left_while_away(
            await self.runtime.store.present_guilds(),
            present,
            shard_id=shard_id,
            shard_count=self.shard_count,
        )
        for guild_id in gone:
            await self.runtime.store.guild_left(guild_id, now=now)
            log.info(
                "guild %s removed the bot while it was away; its data goes in 7 days", guild_id
            )
        log.info(
            "shard %d of %d ready in %d servers (%d left while away)",
            shard_id,
            self.shard_count,
            len(present),
            len(gone),
        )

    async def on_ready(self) -> None:
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


async def run_discord(
    runtime: Runtime, token: str, *, stop: asyncio.Event, shard_ids: tuple[int, ...] | None = None
) -> None:
    """Run the bot, holding SHARD_IDS (see BulletinBot), until `stop` is set, then close it
    cleanly. Raises BulletinError when Discord refuses the token or the bot stops on its own
    with an error."""
    config = runtime.config.discord
    point_discord_at(config.api_base, config.gateway_url)
    bot = BulletinBot(runtime, shard_ids=shard_ids)
    async with bot:
        runner = asyncio.create_task(bot.serve(token), name="discord")
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
