"""What Bulletin keeps: stories, sources, entries, key points, subscriptions and the outbox.

`Store` is the interface (`bot.store.interface`); `open_store` opens the backend a database
target names: a `postgresql://` URL is PostgreSQL (`bot.store.postgres`), anything else the
path of an SQLite file (`bot.store.sqlite`). The records it hands out and takes in are in
`bot.store.records`.

    store = await open_store("bulletin.db")  # or "postgresql://bulletin@127.0.0.1/bulletin"
    ...
    await store.close()
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bot.store.errors import UNAVAILABLE, DatabaseUnavailable, LeaseLost, StalePoll, StoreError
from bot.store.interface import DEFAULT_RETENTION, Store
from bot.store.overview import Backlog, KeyPointsVersion, SourceStates
from bot.store.poll_record import (
    PollOutcome,
    PollRecord,
    PollState,
    Routed,
    SiblingSource,
    Subscriber,
)
from bot.store.records import (
    Backfill,
    Delivery,
    DeliveryAttempt,
    DeliveryHealth,
    KeyPointsRecord,
    MessageEntry,
    PostedMessage,
    SourceRecord,
    StoredEntryRecord,
    StoryRecord,
    SubscriptionRecord,
)
from bot.store.sqlite import SQLiteStore
from bot.store.targets import is_postgres_url, shown_url
from bot.store.trail import DigestShown, LeftOut, OutboxRow, RoutingDecision

if TYPE_CHECKING:
    from bot.store.postgres import PostgresStore


async def open_store(target: str | os.PathLike[str]) -> Store:
    """Open (creating and migrating) the database TARGET names: a PostgreSQL URL
    (`postgresql://USER@HOST:PORT/DBNAME`), else an SQLite file's path."""
    if is_postgres_url(target):
        from bot.store.postgres import PostgresStore  # loaded (with asyncpg) only when used

        return await PostgresStore.open(os.fspath(target))
    return await SQLiteStore.open(target)


def __getattr__(name: str) -> object:
    # `bot.store.PostgresStore` as before, without importing asyncpg into every process
    if name == "PostgresStore":
        from bot.store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_RETENTION",
    "UNAVAILABLE",
    "Backfill",
    "Backlog",
    "DatabaseUnavailable",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryHealth",
    "DigestShown",
    "KeyPointsRecord",
    "KeyPointsVersion",
    "LeaseLost",
    "LeftOut",
    "MessageEntry",
    "OutboxRow",
    "PollOutcome",
    "PollRecord",
    "PollState",
    "PostedMessage",
    "PostgresStore",
    "Routed",
    "RoutingDecision",
    "SQLiteStore",
    "SiblingSource",
    "SourceRecord",
    "SourceStates",
    "StalePoll",
    "Store",
    "StoreError",
    "StoredEntryRecord",
    "StoryRecord",
    "Subscriber",
    "SubscriptionRecord",
    "is_postgres_url",
    "open_store",
    "shown_url",
]
