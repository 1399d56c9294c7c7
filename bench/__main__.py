"""`make bench`: run every benchmark module (bench/bench_*.py) and print its tables.

Each module exposes `run() -> None` that prints a Markdown section. Benchmarks use only
loopback and files; `python -m bench NAME...` runs just the named ones (e.g. `extract`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("bench_")
    )
    wanted = argv or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
        return 2
    for name in wanted:
        started = time.perf_counter()
        importlib.import_module(f"bench.bench_{name}").run()
        print(f"\n({name}: {time.perf_counter() - started:.1f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
