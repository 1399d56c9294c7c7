"""An election in PostgreSQL: a session-level advisory lock on a connection of its own.

`pg_try_advisory_lock(key)` is held by the session that took it until that session ends, so
the role ends with its holder: a process killed (SIGKILL), a machine gone, a connection cut
all close the session, PostgreSQL releases the lock, and the next candidate to ask takes it.
The connection is the candidate's own, never one of the pool's (whose connections are lent to
any call and never hold a session lock, see `database._keep`).

Candidates that do not hold the role tell the holder of new work with a `NOTIFY` on their own
connection; the holder `LISTEN`s on its, so rows another process wrote go out at once rather
than at the holder's next look.

The holder learns of its loss without asking: asyncpg marks the connection closed as soon as
its socket goes (`held` turns False before the next send). A server that stops answering
without closing is found by `campaign`'s round trip, bounded by `CHECK_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
from asyncpg import exceptions as pg_errors

from bot.store.election import Election
from bot.store.postgres.database import CONNECT_TIMEOUT, LOST, one_line, where

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 5.0  # seconds a round trip on the election's connection may take
CHANNEL = "bulletin_outbox"  # what candidates NOTIFY and the holder LISTENs on
# Not holding the role, not an error: the server is away, or the connection failed.
_UNANSWERED: tuple[type[BaseException], ...] = (
    *LOST,
    pg_errors.PostgresError,
    pg_errors.InterfaceError,
    TimeoutError,
)


class AdvisoryLock(Election):
    """The role of advisory lock KEY in the database URL names."""

    def __init__(self, url: str, key: int, *, role: str) -> None:
        self._url = url
        self._key = key
        self._role = role  # what the log calls it ("the delivery lock")
        self._where = where(url)
        self._connection: asyncpg.Connection | None = None
        self._held = False
        self._unreachable = False  # said once per outage
        self._announced: Callable[[], None] | None = None

    @property
    def held(self) -> bool:
        connection = self._connection
        return self._held and connection is not None and not connection.is_closed()

    async def campaign(self) -> bool:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT + CHECK_TIMEOUT):
                connection = await self._connected()
                if self.held:
                    await connection.fetchval("SELECT 1")  # the session, so the lock, lives
                else:
                    self._held = bool(
                        await connection.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
                    )
                    if self._held and self._announced is not None:
                        await connection.add_listener(CHANNEL, self._heard)
        except _UNANSWERED as error:
            if self._held or not self._unreachable:
                log.warning(
                    "%s: PostgreSQL at %s does not answer (%s); not holding it until it does",
                    self._role,
                    self._where,
                    one_line(error),
                )
            self._unreachable = True
            self._drop()
            return False
        self._unreachable = False
        return self._held

    async def announce(self) -> None:
        if self.held:
            return  # the holder wakes itself
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT + CHECK_TIMEOUT):
                connection = await self._connected()
                await connection.execute(f"NOTIFY {CHANNEL}")
        except _UNANSWERED:
            self._drop()  # the holder finds the rows at its next look anyway

    def on_announcement(self, callback: Callable[[], None]) -> None:
        self._announced = callback

    def _heard(self, *_notification: object) -> None:
        if self._announced is not None:
            self._announced()

    async def resign(self) -> None:
        connection, self._connection = self._connection, None
        self._held = False
        if connection is not None and not connection.is_closed():
            # closing the session releases its advisory locks
            with contextlib.suppress(*_UNANSWERED):
                await asyncio.wait_for(connection.close(), CHECK_TIMEOUT)
            if not connection.is_closed():
                connection.terminate()

    async def _connected(self) -> asyncpg.Connection:
        connection = self._connection
        if connection is None or connection.is_closed():
            self._held = False  # a new session holds nothing
            connection = await asyncpg.connect(
                self._url,
                timeout=CONNECT_TIMEOUT,
                server_settings={"application_name": "bulletin-election", "jit": "off"},
            )
            self._connection = connection
        return connection

    def _drop(self) -> None:
        """Forget a connection that failed: whatever it held is released with its session."""
        connection, self._connection = self._connection, None
        self._held = False
        if connection is not None:
            with contextlib.suppress(pg_errors.InterfaceError):
                connection.terminate()


__all__ = ["AdvisoryLock"]
