"""A delivering process for the kill -9 test.

`python -m tests.delivery.deliver_worker DB API TOKEN`:

It drains the outbox of the SQLite file DB to the Discord at API until it is killed. With
KILL_AFTER_SENDS=N in the environment it kills itself (SIGKILL) after its Nth message has been
posted and before that is recorded: the worst moment for a crash.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import discord

from bot.delivery.discord_sink import DiscordSink
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import RateLimiter
from bot.discord.endpoints import point_discord_at
from bot.store import open_store


async def main(db: str, api_base: str, token: str) -> None:
    point_discord_at(api_base, None)
    store = await open_store(db)
    client = discord.Client(intents=discord.Intents.none())
    await client.login(token)
    sink = DiscordSink(client, store, limiter=RateLimiter(45.0))
    kill_after = int(os.environ.get("KILL_AFTER_SENDS", "0"))
    if kill_after:
        record = store.record_delivery

        async def record_or_die(*args: object, **kwargs: object) -> bool:
            if sink.sent >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return await record(*args, **kwargs)  # type: ignore[arg-type]

        store.record_delivery = record_or_die  # type: ignore[method-assign]
    print("ready", flush=True)
    await Dispatcher(store, {"discord": sink}, idle=0.1).run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
