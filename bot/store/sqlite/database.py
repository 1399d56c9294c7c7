"""The SQLite connection every part of the SQLite store shares: opening, transactions, reads.

One aiosqlite connection in WAL mode (`synchronous=NORMAL`, foreign keys on, a 5 s busy
timeout, a 256 KiB page cache). One transaction at a time runs on it (an asyncio lock); reads
outside a transaction take the lock too, so that they never see another coroutine's uncommitted
writes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import aiosqlite

from bot.store.errors import StoreError
from bot.store.sqlite.migrate import LATEST, migrate

log = logging.getLogger(__name__)

# SQLite's own page cache, per connection (its default is 2 MiB). Pages it does not hold come
# from the operating system's cache of the file, a copy away: in the store benchmark a poll of a
# 400-update page took as long with 256 KiB as with 2 MiB, and the process is 1.9 MB smaller.
PAGE_CACHE_KIB = 256


def _open_hint(error: sqlite3.Error) -> str:
    """What an operator can do about an error met while opening the database."""
    text = str(error).lower()
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return " (Bulletin must be able to write the file and its folder: check [database] path)"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return " (the file is damaged: restore a backup, or move it aside to start afresh)"
    return ""


def _check_openable(path: str) -> None:
    """Refuse, with what to do, a path SQLite cannot open. Checked with plain sqlite3 first:
    when aiosqlite's very first open fails, its worker thread outlives the event loop and
    prints a traceback at exit."""
    if path == ":memory:" or path.startswith("file:"):
        return
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        problem = "it is a folder (check [database] path: it names a file)"
    elif not os.path.isdir(folder):
        problem = f"no such folder {folder!r} (create it, or check [database] path)"
    else:
        try:
            sqlite3.connect(path).close()  # creates an empty file, as opening would anyway
            return
        except sqlite3.Error as error:
            problem = f"{error}{_open_hint(error)}"
    raise StoreError(f"cannot open the database {path!r}: {problem}")


async def connect(
    path: str | os.PathLike[str], *, migrate_to: int = LATEST
) -> aiosqlite.Connection:
    """Open (creating and migrating) the database at `path`."""
    where = os.fspath(path)
    await asyncio.to_thread(_check_openable, where)
    try:
        db = await aiosqlite.connect(where, isolation_level=None)
    except sqlite3.Error as error:
        raise StoreError(
            f"cannot open the database {where!r}: {error}{_open_hint(error)}"
        ) from None
    try:
        db.row_factory = sqlite3.Row
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA busy_timeout = 5000")
        await db.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        # Migrations run with foreign keys off, so that one may rebuild a table others refer
        # to (SQLite's own procedure); what they leave is checked before the keys go on.
        await migrate(db, target=migrate_to)
        await db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as error:
        await db.close()
        raise StoreError(
            f"cannot open the database {where!r}: {error}{_open_hint(error)}"
        ) from None
    except BaseException:
        await db.close()
        raise
    return db


class Database:
    """The base of every part of the SQLite store: the connection and how to use it."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()  # one transaction at a time on the shared connection

    async def close(self) -> None:
        async with self._lock:
            await self._db.close()

    async def schema_version(self) -> int:
        row = await self._query_one("PRAGMA user_version")
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                # Inside the try: a COMMIT that fails (disk full, a deferred constraint, a lock)
                # can leave the transaction open, and the next BEGIN on this shared connection
                # would then fail for good ("cannot start a transaction within a transaction").
                await self._db.commit()
            except BaseException:
                try:
                    await self._db.rollback()
                except sqlite3.Error:
                    log.exception("rollback failed after a failed transaction")
                raise

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Several reads with nothing written in between (by this process)."""
        async with self._lock:
            yield self._db

    async def _query_one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        async with self._lock:
            return await self._fetchone(sql, params)

    async def _query_all(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return await self._fetchall(sql, params)

    async def _fetchone(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        # One trip to the database thread, not three (execute, fetch, close): every use reads
        # at most one row (a key, LIMIT 1, an aggregate or a one-row RETURNING).
        rows = await self._db.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        return list(await self._db.execute_fetchall(sql, params))
