"""The SQLite backend of the store: one file, one process (the default).

`SQLiteStore` is the store's interface (`bot.store.interface.Store`) made of one part per
concern, each a `Database` over the same connection: stories and sources, polls, entries,
subscriptions and servers, the outbox, what happened to an update (history), what the web
window reads (status), publishing in announcement channels.
"""

from __future__ import annotations

import os

from bot.store.election import Election, Sole
from bot.store.interface import Store
from bot.store.sqlite.database import connect
from bot.store.sqlite.entries import Entries
from bot.store.sqlite.history import History
from bot.store.sqlite.leases import Leases
from bot.store.sqlite.migrate import LATEST
from bot.store.sqlite.outbox import Outbox
from bot.store.sqlite.polls import Polls
from bot.store.sqlite.publishing import Publishing
from bot.store.sqlite.status import Status
from bot.store.sqlite.stories import Stories
from bot.store.sqlite.subscriptions import Subscriptions


class SQLiteStore(
    Stories,
    Polls,
    Leases,
    Entries,
    Subscriptions,
    Outbox,
    History,
    Status,
    Publishing,
    Store,
):
    """Everything Bulletin keeps, in one SQLite file."""

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, migrate_to: int = LATEST) -> SQLiteStore:
        """Open (creating and migrating) the database at `path`."""
        return cls(await connect(path, migrate_to=migrate_to))

    def delivery_election(self) -> Election:
        return Sole()  # one process per SQLite file: it always delivers


__all__ = ["SQLiteStore"]
