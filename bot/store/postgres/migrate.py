"""Numbered SQL migrations (`migrations/NNNN_name.sql`); the versions applied are rows of
`schema_migrations` in the database itself.

Several processes may start together on an empty database: each migration runs in one
transaction that first takes a transaction-scoped advisory lock, so one process applies it
while the others wait the few milliseconds it takes, then see it applied and go on. A process
that finds the schema up to date takes no lock at all.
"""

from __future__ import annotations

import logging
import re
from importlib import resources

from bot.store.errors import StoreError
from bot.store.postgres.database import Connection, Pool

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

# pg_advisory_xact_lock key of schema changes ("BULLETN" in ASCII, then 1). The keys of the
# store's advisory locks are all here, so that no two uses share one.
MIGRATION_LOCK = 0x42554C4C45544E01
# pg_try_advisory_lock key (session-level) of the outbox's one deliverer (bot.store.election)
DELIVERY_LOCK = 0x42554C4C45544E02
# (publishing.py locks each announcement channel by a hash of its id, a 64-bit key that meets
# these two only by a 1-in-2**63 chance)

_VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration, in order; versions are 1, 2, ..."""
    found = []
    for item in resources.files("bot.store.postgres").joinpath("migrations").iterdir():
        match = _NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), item.name, item.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise RuntimeError(f"migration {name} is out of sequence (expected {expected:04d})")
    return found


LATEST = len(migrations())


async def current_version(db: Connection) -> int:
    """The schema version of the database (0: no schema yet)."""
    exists = await db.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return int(await db.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))


def _too_new(version: int) -> StoreError:
    return StoreError(
        f"the database is at schema version {version}, newer than this Bulletin knows "
        f"({LATEST}); upgrade Bulletin"
    )


async def migrate(pool: Pool, *, target: int = LATEST) -> int:
    """Bring the schema to TARGET, each migration in its own transaction under the advisory
    lock; the version it is at afterwards."""
    async with pool.acquire() as db:
        version = await current_version(db)
        if version > LATEST:
            raise _too_new(version)
        if version >= target:
            return version
        fresh = version == 0
        for number, name, sql in migrations():
            if number > target:
                break
            async with db.transaction():
                await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await db.execute(_VERSIONS)
                version = await current_version(db)
                if version > LATEST:
                    raise _too_new(version)
                if version >= number:
                    continue  # another process applied it while this one waited
                (log.debug if fresh else log.info)("applying migration %s", name)
                await db.execute(sql)
                await db.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", number, name
                )
            version = number
        return version
