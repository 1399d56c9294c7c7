from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.model import Snapshot
from bot.sources.extract import extract


@pytest.fixture
def read_fixture(fixtures_dir: Path) -> Callable[[str], Snapshot]:
    """Extract one shared fixture file, read in place."""

    def read(relative: str) -> Snapshot:
        return extract((fixtures_dir / relative).read_bytes())

    return read
