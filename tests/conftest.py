"""Shared test fixtures.

`fixtures_dir` points at ../shared/fixtures (other people's data, read in place, never copied).
When it is absent the tests that need it skip with a reason, except under CI=true, where its
absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not SHARED_FIXTURES.is_dir():
        message = (
            f"shared fixtures not found at {SHARED_FIXTURES} (../shared must sit beside the repo)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_FIXTURES
