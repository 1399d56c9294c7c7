"""Shared test fixtures.

`fixtures_dir` points at ../shared/fixtures (other people's data, read in place, never copied).
When it is absent the tests that need it skip with a reason, except under CI=true, where its
absence is a failure.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from bot.store import Store, open_store

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def shared_fixtures(path: Path = SHARED_FIXTURES, environ: Mapping[str, str] = os.environ) -> Path:
    """PATH when it is a folder; else skip the test with the reason, or fail it under CI=true."""
    if not path.is_dir():
        message = f"shared fixtures not found at {path} (../shared must sit beside the repo)"
        if environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return shared_fixtures()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store on an SQLite file of the test's own (tests/store runs every backend)."""
    opened = await open_store(tmp_path / "bulletin.db")
    yield opened
    await opened.close()
