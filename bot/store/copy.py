"""Copy an SQLite database into an empty PostgreSQL one (`bulletin db copy`), so that a
community that moves keeps its history and is not posted to again.

Everything is copied, ids included: stories, sources, seen entries and tombstones, key-point
versions, servers and their settings, subscriptions (their filters too), the outbox, what was
posted where, the delivery history and the routing decisions (why a subscription was left
without an update). The SQLite file is only read, in one read transaction (a consistent picture
even while a bot writes to it). The PostgreSQL side is one transaction that first locks every
table and checks that they are empty: a failure leaves the target as empty as it was, and the
command can simply be run again.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from asyncpg import exceptions as pg_errors

from bot.store.errors import StoreError
from bot.store.postgres.database import Connection, clean, create_pool
from bot.store.postgres.migrate import migrate
from bot.store.sqlite.migrate import LATEST as SQLITE_LATEST
from bot.store.targets import shown_url

# Every table, parents before the rows that refer to them.
TABLES = (
    "guilds",
    "stories",
    "sources",
    "story_sources",
    "entries",
    "tombstones",
    "key_points",
    "guild_settings",
    "subscriptions",
    "deliveries",
    "posted_messages",
    "delivery_attempts",
    "routing_decisions",
    "publications",
)
CHUNK = 5000  # rows read and sent at once
TELL_EVERY = 50_000  # a progress line per this many rows of one table


@dataclass(frozen=True, slots=True)
class Copied:
    """What a copy did: rows per table, and how long it took."""

    rows: dict[str, int]
    seconds: float

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _open_sqlite(path: str) -> sqlite3.Connection:
    if not os.path.isfile(path):
        raise StoreError(f"no SQLite database at {path!r} (check --from)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        db.execute("BEGIN")  # one read transaction: every table as of one moment
        (version,) = db.execute("PRAGMA user_version").fetchone()
    except sqlite3.Error as error:
        raise StoreError(f"cannot read the SQLite database {path!r}: {error}") from None
    if version != SQLITE_LATEST:
        db.close()
        if version > SQLITE_LATEST:
            raise StoreError(
                f"{path!r} is at schema version {version}, newer than this Bulletin knows "
                f"({SQLITE_LATEST}): copy it with the Bulletin that wrote it"
            )
        raise StoreError(
            f"{path!r} is at schema version {version}, and this Bulletin copies version "
            f"{SQLITE_LATEST}: run this Bulletin on it once (bulletin run upgrades it), "
            "then copy again"
        )
    return db


def _converter(pg_type: str) -> Callable[[Any], Any]:
    """How an SQLite value becomes what the PostgreSQL column takes."""
    if pg_type == "boolean":
        return lambda value: None if value is None else bool(value)
    if pg_type in ("bigint", "integer"):
        return lambda value: None if value is None else int(value)
    return lambda value: None if value is None else clean(str(value))


def _rows(
    db: sqlite3.Connection, table: str, columns: list[str], convert: list[Callable[[Any], Any]]
) -> Iterator[list[tuple[Any, ...]]]:
    names = ", ".join(f'"{column}"' for column in columns)
    cursor = db.execute(f'SELECT {names} FROM "{table}"')  # noqa: S608 - our own names
    while chunk := cursor.fetchmany(CHUNK):
        yield [tuple(f(value) for f, value in zip(convert, row, strict=True)) for row in chunk]


async def _columns(pg: Connection, table: str) -> list[tuple[str, str]]:
    rows = await pg.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [(row[0], row[1]) for row in rows]


async def copy_database(
    path: str, url: str, *, progress: Callable[[str], None] = lambda line: None
) -> Copied:
    """Copy the SQLite database at PATH into the empty PostgreSQL database URL names (its
    schema is created first when it has none). StoreError, one line, when it cannot be done."""
    started = time.monotonic()
    source = _open_sqlite(path)
    try:
        pool = await create_pool(url, min_size=1, max_size=1)
        try:
            await migrate(pool)
            async with pool.acquire() as pg, pg.transaction():
                rows = await _copy_tables(source, pg, url, progress)
            # Statistics now, not when autovacuum comes: planned without them, the first
            # polls' queries would scan where an index does, and keep those plans a while.
            progress("  statistics for the planner (ANALYZE)")
            async with pool.acquire() as pg:
                await pg.execute("ANALYZE")
        finally:
            await pool.close()
    finally:
        source.close()
    return Copied(rows, time.monotonic() - started)


async def _copy_tables(
    source: sqlite3.Connection, pg: Connection, url: str, progress: Callable[[str], None]
) -> dict[str, int]:
    await pg.execute(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")
    held = [table for table in TABLES if await pg.fetchval(f"SELECT EXISTS (TABLE {table})")]
    if held:
        raise StoreError(
            f"the PostgreSQL database {shown_url(url)} is not empty (it has {', '.join(held)}):"
            " copy into an empty database (createdb a new one, or drop this one's tables)"
        )
    copied: dict[str, int] = {}
    for table in TABLES:
        in_sqlite = {row[1] for row in source.execute(f'PRAGMA table_info("{table}")')}
        in_postgres = await _columns(pg, table)
        left = in_sqlite - {name for name, _ in in_postgres}
        if left:  # never copied in part: the schemas must keep the same columns
            raise StoreError(
                f"cannot copy table {table}: PostgreSQL's schema has no column"
                f" {', '.join(sorted(left))}; nothing was written to PostgreSQL"
            )
        wanted = [(name, kind) for name, kind in in_postgres if name in in_sqlite]
        columns = [name for name, _ in wanted]
        (total,) = source.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
        done = told = 0
        try:
            for chunk in _rows(source, table, columns, [_converter(kind) for _, kind in wanted]):
                await pg.copy_records_to_table(table, records=chunk, columns=columns)
                done += len(chunk)
                if done - told >= TELL_EVERY and done < total:
                    progress(f"  {table}: {done:,} of {total:,} rows")
                    told = done
        except (
            ValueError,
            TypeError,
            sqlite3.Error,
            pg_errors.DataError,
            pg_errors.IntegrityConstraintViolationError,
        ) as error:
            raise StoreError(
                f"cannot copy table {table} (after {done:,} rows): {' '.join(str(error).split())};"
                " nothing was written to PostgreSQL"
            ) from None
        copied[table] = done
        progress(f"  {table}: {done:,} row{'' if done == 1 else 's'}")
        identity = await pg.fetchval(
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = $1 AND is_identity = 'YES'",
            table,
        )
        if identity is not None:
            # new rows continue after the copied ids
            await pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{identity}'),"  # noqa: S608
                f" coalesce(max({identity}), 0) + 1, false) FROM {table}"
            )
    return copied
