"""The connection pool every part of the PostgreSQL store shares: connecting, transactions,
reads, and riding out a lost connection.

One asyncpg pool, made where the store is opened (the async main) and handed to every part.
Each store call runs on one pooled connection: a write in one transaction, a read as one
statement or several on the same connection.

A connection lost in the middle of a call (the server restarted, the network dropped) is not
an error the caller sees: the call waits, with growing delays, until PostgreSQL answers again
and runs again, as it would have. What was cut short was rolled back by the server, so running
it again loses nothing and writes nothing twice. The one uncertain moment is a COMMIT whose
answer never came: the call then asks the server whether its transaction committed (by its
id, `pg_xact_status`, or by a probe of what it wrote) before deciding to run it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar
from urllib.parse import unquote, urlsplit

import asyncpg
from asyncpg import exceptions as pg_errors

from bot.store.errors import StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")
Record = asyncpg.Record
if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # every connection the store uses is a pooled one
    Connection: TypeAlias = PoolConnectionProxy[Record]
    Pool: TypeAlias = asyncpg.Pool[Record]
else:
    Connection = asyncpg.pool.PoolConnectionProxy
    Pool = asyncpg.Pool
Work = Callable[[Connection], Awaitable[T]]
Probe = Callable[[Connection], Awaitable[bool]]

# No floor of idle connections: asyncpg would keep reconnecting one in the background (and
# log each failure) while PostgreSQL is away; a call makes the connection it needs.
POOL_MIN = 0
POOL_MAX = 10
CONNECT_TIMEOUT = 10.0  # seconds for one connection attempt
FIRST_DELAY = 0.05  # seconds before the first retry after a lost connection
MAX_DELAY = 5.0
TELL_EVERY = 60.0  # seconds between two warnings while PostgreSQL stays away

# A lost connection, a server that restarts or starts, a full server: wait and run again.
LOST: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, timed out, host unreachable
    pg_errors.PostgresConnectionError,  # class 08, and "connection was closed" mid-call
    pg_errors.AdminShutdownError,  # 57P01: the server is shutting down (a restart)
    pg_errors.CrashShutdownError,  # 57P02
    pg_errors.CannotConnectNowError,  # 57P03: starting up or in recovery
    pg_errors.TooManyConnectionsError,
)
# Rolled back for certain by the server: run again at once (several writers at once).
CONFLICTS: tuple[type[BaseException], ...] = (
    pg_errors.SerializationError,
    pg_errors.DeadlockDetectedError,
)
# What keeps a pool from being made at all (a URL asyncpg cannot read is a ValueError).
UNREACHABLE: tuple[type[BaseException], ...] = (*LOST, pg_errors.PostgresError, ValueError)


def where(url: str) -> str:
    """host:port/database of URL, as an operator names it."""
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError:
        return "(an unreadable PostgreSQL URL)"
    database = unquote(parts.path.lstrip("/")) or unquote(parts.username or "") or "postgres"
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}/{database}"


def _user(url: str) -> str:
    try:
        return unquote(urlsplit(url).username or "") or "(the system user)"
    except ValueError:
        return "(unknown)"


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def cannot_reach(url: str, error: BaseException) -> str:
    """One line: why PostgreSQL at URL cannot be used, and what to check. Never the password."""
    place = where(url)
    host = place.rsplit("/", 1)[0]
    database = place.rsplit("/", 1)[1]
    setting = "[database] url or BULLETIN_DATABASE_URL"
    if isinstance(error, pg_errors.InvalidCatalogNameError):
        return (
            f"PostgreSQL at {host} has no database {database!r}: create it "
            f"(createdb -h {host.rsplit(':', 1)[0]} -p {host.rsplit(':', 1)[1]} {database}) "
            f"or check {setting}"
        )
    if isinstance(
        error,
        pg_errors.InvalidAuthorizationSpecificationError | pg_errors.InvalidPasswordError,
    ):
        return (
            f"PostgreSQL at {host} refused user {_user(url)!r} ({one_line(error)}): check the "
            f"user and password in {setting}, and the server's pg_hba.conf"
        )
    if isinstance(error, pg_errors.CannotConnectNowError):
        return f"PostgreSQL at {host} is starting up or shutting down: try again in a moment"
    if isinstance(error, pg_errors.TooManyConnectionsError):
        return (
            f"PostgreSQL at {host} has no connection left ({one_line(error)}): raise its "
            "max_connections or run fewer processes"
        )
    if isinstance(error, socket.gaierror):
        reason = f"unknown host ({one_line(error)})"
    elif isinstance(error, TimeoutError):
        reason = "no answer in time"
    elif isinstance(error, ConnectionRefusedError) or "Connect call failed" in str(error):
        reason = "connection refused"
    elif isinstance(error, pg_errors.PostgresError | OSError):
        reason = one_line(error)
    else:
        reason = f"{type(error).__name__}: {one_line(error)}"
    return (
        f"cannot reach PostgreSQL at {host} ({reason}): check that the server is running and "
        f"listens there (pg_lsclusters; listen_addresses and port in postgresql.conf) and the "
        f"host and port in {setting}"
    )


async def _keep(connection: object) -> None:
    """The pool's reset between two uses of a connection: nothing to undo (the store never
    changes a session's settings, listens or holds session locks), so no round trip is spent
    on one. An open transaction is still rolled back by asyncpg first."""


async def create_pool(url: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX) -> Pool:
    """A pool of connections to URL (StoreError, one line, when PostgreSQL cannot be used)."""
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=CONNECT_TIMEOUT,
            statement_cache_size=256,  # every statement of the store stays prepared
            reset=_keep,
            server_settings={"application_name": "bulletin", "jit": "off"},
        )
        assert pool is not None
    except UNREACHABLE as error:
        raise StoreError(cannot_reach(url, error)) from None
    try:
        async with pool.acquire() as connection:  # reachable now, or one line saying why not
            await connection.fetchval("SELECT 1")
    except UNREACHABLE as error:
        await pool.close()
        raise StoreError(cannot_reach(url, error)) from None
    return pool


def affected(status: str) -> int:
    """The number of rows a command's status names ("UPDATE 3" → 3)."""
    count = status.rpartition(" ")[2]
    return int(count) if count.isdigit() else 0


def clean(text: str) -> str:
    """TEXT as PostgreSQL can keep it: U+0000 cannot be in a text value; it becomes U+FFFD, as
    HTML parsers make it (the SQLite store keeps it as it is)."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def clean_or_none(text: str | None) -> str | None:
    return None if text is None else clean(text)


def _closed(connection: Connection | None) -> bool:
    if connection is None:
        return True
    try:
        return connection.is_closed()
    except pg_errors.InterfaceError:
        # Detached from its pool while still held (every caller asks while it holds the
        # connection): asyncpg's pool takes a connection back the moment it closes.
        return True


class _Unsure(Exception):
    """A COMMIT (or a lone write) whose answer was lost: it may or may not have happened.
    RESULT is what the call returns if it did."""

    def __init__(self, xid: str | None, result: object) -> None:
        super().__init__("commit unanswered")
        self.xid = xid
        self.result = result


class Database:
    """The base of every part of the PostgreSQL store: the pool and how to use it."""

    def __init__(self, pool: Pool, *, url: str, owns_pool: bool = True) -> None:
        self._pool = pool
        self._url = url
        self._where = where(url)
        self._owns_pool = owns_pool
        self._outage_since: float | None = None
        self._told_at = 0.0

    async def close(self) -> None:
        if self._owns_pool:
            await self._pool.close()

    async def schema_version(self) -> int:
        value = await self._fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return int(value)

    # --- running work, again after a lost connection -------------------------------------

    async def _write(self, work: Work[T], *, applied: Probe | None = None) -> T:
        """WORK in one transaction. When the COMMIT's answer is lost, APPLIED (a probe of what
        WORK writes) tells whether it happened; without one, the transaction's id does."""
        return await self._run(work, transaction=True, applied=applied)

    async def _read(self, work: Work[T]) -> T:
        """WORK (reads, or one statement that commits by itself) on one connection."""
        return await self._run(work, transaction=False, applied=None)

    async def _write_once(self, work: Work[None], *, applied: Probe) -> None:
        """WORK, one statement that commits by itself (no transaction around it); APPLIED
        tells whether it happened when its answer is lost."""
        await self._run(work, transaction=False, applied=applied)

    async def _run(self, work: Work[T], *, transaction: bool, applied: Probe | None) -> T:
        failures = 0
        result: T
        while True:
            connection: Connection | None = None
            lost = False  # decided while the connection is held (after, the pool has it)
            try:
                async with self._pool.acquire() as connection:
                    try:
                        if transaction:
                            result = await self._transaction(connection, work, applied)
                        elif applied is not None:
                            try:
                                result = await work(connection)
                            except BaseException as error:
                                if self._lost(error, connection):
                                    raise _Unsure(None, None) from error
                                raise
                        else:
                            result = await work(connection)
                    except BaseException as error:
                        cause = error.__cause__ if isinstance(error, _Unsure) else error
                        lost = cause is not None and self._lost(cause, connection)
                        if lost:
                            # never back into the pool: a server that said goodbye (57P01)
                            # may not have closed the socket yet
                            with contextlib.suppress(pg_errors.InterfaceError):  # gone already
                                connection.terminate()
                        raise
            except _Unsure as unsure:
                failures += 1
                self._outage(unsure.__cause__ or unsure)
                if await self._happened(unsure.xid, applied, failures):
                    self._back()
                    return unsure.result  # type: ignore[return-value]  # WORK's own result
                continue
            except BaseException as error:
                if isinstance(error, CONFLICTS):
                    log.debug("conflict with another writer (%s); running again", error)
                    continue
                if not (lost or (connection is None and self._lost(error, None))):
                    raise
                failures += 1
                self._outage(error)
                await self._pause(failures)
                continue
            self._back()
            return result

    @staticmethod
    async def _transaction(connection: Connection, work: Work[T], applied: Probe | None) -> T:
        xid: str | None = None
        committing = False
        result: T
        try:
            async with connection.transaction():
                result = await work(connection)
                if applied is None:
                    xid = await connection.fetchval("SELECT pg_current_xact_id_if_assigned()::text")
                committing = True
        except BaseException as error:
            if committing and Database._lost(error, connection):
                raise _Unsure(xid, result) from error
            raise
        return result

    async def _happened(self, xid: str | None, applied: Probe | None, failures: int) -> bool:
        """Did the write whose answer was lost happen? Asked once PostgreSQL answers again."""
        while True:
            await self._pause(failures)
            try:
                async with self._pool.acquire() as connection:
                    if applied is not None:
                        return await applied(connection)
                    if xid is None:
                        return True  # it wrote nothing: there is nothing to lose or repeat
                    status = await connection.fetchval("SELECT pg_xact_status($1::text::xid8)", xid)
                    return bool(status == "committed")
            except BaseException as error:
                if not self._lost(error, None):
                    raise
                failures += 1
                self._outage(error)

    @staticmethod
    def _lost(error: BaseException, connection: Connection | None) -> bool:
        if isinstance(error, LOST):
            return True
        if isinstance(error, pg_errors.InternalClientError):
            # a connection left mid-operation by an earlier loss: refused before anything
            # was sent, so running the work again is safe
            return True
        # "connection is closed": asyncpg's own word for a connection that went away
        return isinstance(error, pg_errors.InterfaceError) and _closed(connection)

    @staticmethod
    async def _pause(failures: int) -> None:
        delay = min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures - 1, 10))
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    def _outage(self, error: BaseException) -> None:
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = self._told_at = now
            log.warning(
                "lost the connection to PostgreSQL at %s (%s); waiting for it to answer again",
                self._where,
                one_line(error),
            )
        elif now - self._told_at >= TELL_EVERY:
            self._told_at = now
            log.warning(
                "PostgreSQL at %s has not answered for %.0f s (%s); still waiting",
                self._where,
                now - self._outage_since,
                one_line(error),
            )

    def _back(self) -> None:
        if self._outage_since is not None:
            log.warning(
                "PostgreSQL at %s answers again (after %.1f s)",
                self._where,
                time.monotonic() - self._outage_since,
            )
            self._outage_since = None

    # --- one statement -------------------------------------------------------------------

    async def _fetch(self, sql: str, *args: object) -> list[Record]:
        async def work(db: Connection) -> list[Record]:
            return list(await db.fetch(sql, *args))

        return await self._read(work)

    async def _fetchrow(self, sql: str, *args: object) -> Record | None:
        async def work(db: Connection) -> Record | None:
            return await db.fetchrow(sql, *args)

        return await self._read(work)

    async def _fetchval(self, sql: str, *args: object) -> Any:
        async def work(db: Connection) -> Any:
            return await db.fetchval(sql, *args)

        return await self._read(work)

    # the names the SQLite store's helpers have, for tools that read either (bench)
    async def _query_one(self, sql: str, params: Sequence[object] = ()) -> Record | None:
        return await self._fetchrow(sql, *params)

    async def _query_all(self, sql: str, params: Sequence[object] = ()) -> list[Record]:
        return await self._fetch(sql, *params)
