"""The store's conformance suite: every test here runs against each backend (`store`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store, open_store
from tests.builders import T0, entry, poll, snap

__all__ = ["T0", "entry", "poll", "snap"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bulletin.db"


@pytest.fixture(params=["sqlite"])
async def store(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each backend."""
    opened = await open_store(db_path)
    yield opened
    await opened.close()


@pytest.fixture
async def source(store: Store) -> int:
    """A source of a story, subscribed to by the console; its baseline not taken yet."""
    story = await store.ensure_story("Story", now=T0)
    source_id = await store.add_source(story, "https://example.org/live", now=T0)
    await store.subscribe(story, guild_id=None, channel_id=None, now=T0)
    return source_id
