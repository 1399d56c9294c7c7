"""`make bench` runs every bench module: each must at least import against today's code."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import bench

MODULES = sorted(
    info.name
    for info in pkgutil.iter_modules([str(Path(bench.__file__).parent)])
    if info.name.startswith("bench_")
)


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_imports_and_has_a_run(name):
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.run)
