"""SQLite's readiness ping: it could take a write now, so a write lock held by another
connection fails it (after its short busy timeout), and it answers again once released."""

from __future__ import annotations

import sqlite3

import pytest

from tests.builders import T0


async def test_ping_fails_while_another_connection_holds_the_write_lock(store, db_path):
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await store.ping()
        other.execute("ROLLBACK")
        await store.ping()
        await store.ensure_story("written after the lock", now=T0)
    finally:
        other.close()
