"""The resources one running Bulletin shares, made by the async main and handed around.

Tests build their own `Runtime` (a temporary SQLite file, a loopback-allowed fetcher, their own
scheduler) and hand it to the same code the real process runs.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config
from bot.observe import Gateway, Observer
from bot.sources.fetch import Fetcher
from bot.store import Store


@dataclass
class Runtime:
    config: Config
    store: Store
    fetcher: Fetcher
    scheduler: AsyncIOScheduler
    # Set whenever new outbox rows may be waiting, so delivery need not poll the database.
    delivery_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Where documents are read, off the event loop. One thread: parsing holds the GIL anyway,
    # and every extra thread costs a malloc arena (the default pool added ~28 MB of RSS to
    # 1,000 sources).
    extractor: Executor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
    )
    # Who hears what polling and delivery do (the web window's metrics); by default, no one.
    observer: Observer = field(default_factory=Observer)
    # The Discord connection's view of itself, once the Discord bot runs (None: console mode,
    # or not connected yet).
    gateway: Gateway | None = None
    # Where the web window serves (e.g. "http://127.0.0.1:8080"), when it is on.
    web_url: str | None = None
