"""Numbered SQL migrations (`migrations/NNNN_name.sql`), version in `PRAGMA user_version`."""

from __future__ import annotations

import logging
import re
from importlib import resources

import aiosqlite

from bot.store.errors import StoreError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration, in order; versions are 1, 2, ..."""
    found = []
    for item in resources.files("bot.store.sqlite").joinpath("migrations").iterdir():
        match = _NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), item.name, item.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise RuntimeError(f"migration {name} is out of sequence (expected {expected:04d})")
    return found


LATEST = len(migrations())


async def migrate(db: aiosqlite.Connection, *, target: int = LATEST) -> int:
    """Bring the schema to `target`, each migration in its own transaction; the new version.
    Run it with foreign keys off (a migration may rebuild a table that others refer to)."""
    (version,) = (await (await db.execute("PRAGMA user_version")).fetchone()) or (0,)
    if version > LATEST:
        raise StoreError(
            f"the database is at schema version {version}, newer than this Bulletin knows "
            f"({LATEST}); upgrade Bulletin"
        )
    fresh = version == 0
    for number, name, sql in migrations():
        if version < number <= target:
            # a fresh database is simply created; upgrading an existing one is worth a line
            (log.debug if fresh else log.info)("applying migration %s", name)
            # executescript runs the whole file; the version moves in the same transaction
            script = f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
            try:
                await db.executescript(script)
            except Exception:
                if db.in_transaction:
                    await db.rollback()
                raise
            broken = list(await db.execute_fetchall("PRAGMA foreign_key_check"))
            if broken:
                raise StoreError(f"migration {name} left rows that refer to nothing: {broken[:3]}")
            version = number
    return version
