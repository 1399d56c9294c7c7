"""Guard: no import loops, between modules or between packages.

Every module of bot/, cogs/ and bench/ is read with `ast` (nothing is imported), and every import
in it counts: at the top, inside functions, and under `if TYPE_CHECKING:` (a loop that only type
checking closes still ties the two modules together for a reader). Two kinds of loop fail:

- modules that import each other, directly or through others;
- pieces of a package that do: inside each package, every subpackage stands for all the modules
  in it, and those pieces and the package's own modules must import each other in no loop (so
  bot.store importing bot.delivery while bot.delivery imports bot.store is a loop). bot/ is the
  house rather than a room in it: its subpackages and modules are pieces beside cogs/ and bench/.
  A package's own `__init__` belongs to no piece: it importing its children is not a loop (a child
  importing its package's `__init__` back is a module loop, caught above).

Imports by name at run time are not seen: bot/cli/__init__.py loads its own subcommand modules
and bench/__main__.py its own benchmarks that way (a package reaching its children), and
bot.discord.client loads every cog by name, which is seen through its `import cogs`.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("bot", "cogs", "bench")
HOUSE = "bot"  # its pieces sit beside the other roots (see above)

# Loops found when this test was written, in files another change is reworking at the same time.
# Each is to be removed there, and its line here with it; a loop that is gone fails
# test_every_known_loop_is_still_there, so that this list only ever shrinks to empty.
KNOWN_LOOPS_TO_REMOVE: frozenset[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (ours only)
    where: str  # file:line of the import statement


def read_modules(repo: Path, roots: Iterable[str] = ROOTS) -> dict[str, Path]:
    """{dotted module name: file} for every .py file under the roots; a package is its
    `__init__`."""
    found: dict[str, Path] = {}
    for root in roots:
        for path in sorted((repo / root).rglob("*.py")):
            parts = path.relative_to(repo).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _ours(name: str, modules: Mapping[str, Path]) -> str | None:
    """NAME or the nearest package above it that is one of ours; None for other libraries."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def read_imports(repo: Path, modules: Mapping[str, Path]) -> list[Import]:
    """Every import of one of our modules by another, wherever the statement stands."""
    found: list[Import] = []
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_ours(alias.name, modules) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's own package, then upwards
                    package = module if is_package else module.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in modules else _ours(base, modules))
            where = f"{path.relative_to(repo)}:{getattr(node, 'lineno', 0)}"
            found.extend(
                Import(module, target, where)
                for target in dict.fromkeys(targets)
                if target is not None and target != module
            )
    return found


def strongly_connected(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """The groups of two or more nodes that reach each other (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def shortest_cycle(graph: Mapping[str, set[str]], group: set[str]) -> list[str]:
    """A shortest way round GROUP from its first member back to it: [a, b, ..., a]."""
    start = min(group)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph.get(node, set()) & group):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"no cycle through {sorted(group)}")


def piece(module: str, package: str) -> str | None:
    """The piece of PACKAGE that MODULE belongs to ("" is the top: the roots, with bot/'s own
    pieces beside them); None when MODULE is not inside PACKAGE or is its `__init__`."""
    if package == "":
        root, _, rest = module.partition(".")
        if root != HOUSE:
            return root
        return f"{root}.{rest.partition('.')[0]}" if rest else root
    if not module.startswith(package + "."):
        return None
    return f"{package}.{module[len(package) + 1 :].partition('.')[0]}"


@dataclass(frozen=True)
class Loop:
    members: frozenset[str]
    text: str


def module_loops(imports: Iterable[Import]) -> list[Loop]:
    graph: dict[str, set[str]] = {}
    where: dict[tuple[str, str], str] = {}
    for imp in imports:
        graph.setdefault(imp.source, set()).add(imp.target)
        where.setdefault((imp.source, imp.target), imp.where)
    return [_described(graph, group, where) for group in strongly_connected(graph)]


def package_loops(imports: Iterable[Import], modules: Mapping[str, Path]) -> list[Loop]:
    imports = list(imports)
    packages = ["", *sorted(name for name, path in modules.items() if path.name == "__init__.py")]
    loops: dict[frozenset[str], Loop] = {}
    for package in packages:
        graph: dict[str, set[str]] = {}
        where: dict[tuple[str, str], str] = {}
        for imp in imports:
            source, target = piece(imp.source, package), piece(imp.target, package)
            if source is None or target is None or source == target:
                continue
            graph.setdefault(source, set()).add(target)
            where.setdefault((source, target), f"{imp.where} imports {imp.target}")
        for group in strongly_connected(graph):
            loop = _described(graph, group, where)
            loops.setdefault(loop.members, loop)
    return list(loops.values())


def _described(
    graph: Mapping[str, set[str]], group: set[str], where: Mapping[tuple[str, str], str]
) -> Loop:
    cycle = shortest_cycle(graph, group)
    steps = [f"  {a} -> {b}: {where[a, b]}" for a, b in pairwise(cycle)]
    members = ", ".join(sorted(group))
    text = f"{' -> '.join(cycle)} (all in the loop: {members})\n" + "\n".join(steps)
    return Loop(frozenset(group), text)


@pytest.fixture(scope="module")
def repo_imports() -> tuple[dict[str, Path], list[Import]]:
    modules = read_modules(REPO)
    return modules, read_imports(REPO, modules)


def _failures(loops: Iterable[Loop]) -> list[str]:
    return [loop.text for loop in loops if loop.members not in KNOWN_LOOPS_TO_REMOVE]


def test_no_two_modules_import_each_other_in_a_loop(repo_imports):
    _, imports = repo_imports
    failures = _failures(module_loops(imports))
    assert not failures, "modules importing each other in a loop:\n" + "\n".join(failures)


def test_no_two_packages_import_each_other_in_a_loop(repo_imports):
    modules, imports = repo_imports
    failures = _failures(package_loops(imports, modules))
    assert not failures, "packages importing each other in a loop:\n" + "\n".join(failures)


def test_every_known_loop_is_still_there(repo_imports):
    modules, imports = repo_imports
    found = {loop.members for loop in module_loops(imports) + package_loops(imports, modules)}
    gone = [sorted(members) for members in KNOWN_LOOPS_TO_REMOVE if members not in found]
    assert not gone, f"no longer a loop, remove from KNOWN_LOOPS_TO_REMOVE: {gone}"


# --- the guard itself, on a small tree written for it -----------------------------------------


def write_tree(tmp_path: Path, files: Mapping[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return read_modules(tmp_path)


def test_imports_in_functions_under_type_checking_and_relative_ones_are_read(tmp_path):
    modules = write_tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/a.py": "def f():\n    import bot.b\n",
            "bot/b.py": "if TYPE_CHECKING:\n    from bot import c\n",
            "bot/c.py": "from . import d\nfrom .d import name\nimport json\n",
            "bot/d.py": "import os.path\n",
        },
    )
    edges = {(i.source, i.target) for i in read_imports(tmp_path, modules)}
    assert edges == {("bot.a", "bot.b"), ("bot.b", "bot.c"), ("bot.c", "bot.d")}


def test_a_loop_through_a_third_module_is_named(tmp_path):
    modules = write_tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/a.py": "import bot.b\n",
            "bot/b.py": "from bot import c\n",
            "bot/c.py": "def late():\n    from bot.a import x\n",
        },
    )
    loops = module_loops(read_imports(tmp_path, modules))
    assert [loop.members for loop in loops] == [frozenset({"bot.a", "bot.b", "bot.c"})]
    assert loops[0].text.startswith("bot.a -> bot.b -> bot.c -> bot.a")
    assert "bot/c.py:2" in loops[0].text


def test_packages_in_a_loop_are_found_and_an_init_importing_its_children_is_not_one(tmp_path):
    modules = write_tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/config.py": "from bot.sources.extract.selectors import S\n",
            "bot/sources/__init__.py": "from bot.sources import fetch\n",
            "bot/sources/fetch.py": "from bot.config import C\n",
            "bot/sources/extract/__init__.py": "from bot.sources.extract.selectors import S\n",
            "bot/sources/extract/selectors.py": "S = 1\n",
            "bot/store/__init__.py": "",
            "bot/store/rows.py": "import bot.delivery.sink\n",
            "bot/store/records.py": "R = 1\n",
            "bot/delivery/__init__.py": "",
            "bot/delivery/sink.py": "S = 1\n",
            "bot/delivery/render.py": "from bot.store.records import R\n",
            "cogs/__init__.py": "",
            "cogs/feature.py": "import bot.config\n",
        },
    )
    imports = read_imports(tmp_path, modules)
    assert module_loops(imports) == []
    found = {loop.members for loop in package_loops(imports, modules)}
    assert found == {
        frozenset({"bot.config", "bot.sources"}),
        frozenset({"bot.delivery", "bot.store"}),
    }
