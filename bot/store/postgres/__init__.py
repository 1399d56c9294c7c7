"""The PostgreSQL backend of the store: one database that several processes may share.

`PostgresStore` is the store's interface (`bot.store.interface.Store`) made of one part per
concern, each a `Database` over the same connection pool: stories and sources, polls, entries,
subscriptions and servers, the outbox, what happened to an update (history), what the web
window reads (status), publishing in announcement channels. The pool is made where the store is
opened (the async main), or made there by the caller and handed in (`PostgresStore(pool, ...)`).
"""

from __future__ import annotations

from bot.store.election import Election
from bot.store.interface import Store
from bot.store.postgres.database import create_pool
from bot.store.postgres.election import AdvisoryLock
from bot.store.postgres.entries import Entries
from bot.store.postgres.history import History
from bot.store.postgres.leases import Leases
from bot.store.postgres.migrate import DELIVERY_LOCK, LATEST, migrate
from bot.store.postgres.outbox import Outbox
from bot.store.postgres.polls import Polls
from bot.store.postgres.publishing import Publishing
from bot.store.postgres.status import Status
from bot.store.postgres.stories import Stories
from bot.store.postgres.subscriptions import Subscriptions
from bot.store.targets import is_postgres_url, shown_url


class PostgresStore(
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
    """Everything Bulletin keeps, in one PostgreSQL database."""

    @classmethod
    async def open(cls, url: str, *, migrate_to: int = LATEST) -> PostgresStore:
        """Connect to the database URL names, creating and migrating its schema (StoreError,
        one line naming the host, when it cannot be reached)."""
        pool = await create_pool(url)
        try:
            await migrate(pool, target=migrate_to)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url=url)

    def delivery_election(self) -> Election:
        return AdvisoryLock(self._url, DELIVERY_LOCK, role="the delivery lock")


__all__ = ["LATEST", "PostgresStore", "is_postgres_url", "shown_url"]
