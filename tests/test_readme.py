"""The README's Reliability table names the tests that prove each row: those tests must exist."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def reliability_rows() -> list[str]:
    """The test cells of the Reliability table (its last column), one per row."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    return [row.rstrip(" |").rsplit(" | ", 1)[1] for row in rows]


@cache
def defined_names(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )


def references(cell: str) -> list[tuple[str, str | None]]:
    """(file, test name or None) for each reference in a cell.

    `…::name` and a bare `test_x` name a test in the file named before them.
    """
    found: list[tuple[str, str | None]] = []
    current: str | None = None
    for ref in re.findall(r"`([^`]+)`", cell):
        if ref.startswith("tests/"):
            current, _, name = ref.partition("::")
            found.append((current, name or None))
        elif current is not None:
            found.append((current, ref.removeprefix("…::")))
    return found


def test_the_reliability_table_has_rows():
    assert len(reliability_rows()) >= 20


def test_every_test_the_reliability_table_names_exists():
    missing = []
    for cell in reliability_rows():
        refs = references(cell)
        assert refs, f"a row names no test: {cell}"
        for file, name in refs:
            path = ROOT / file
            if not path.is_file():
                missing.append(file)
            elif name is not None and name not in defined_names(path):
                missing.append(f"{file}::{name}")
    assert not missing, f"the README names tests that do not exist: {missing}"
