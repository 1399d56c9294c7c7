"""`make bench`: run every benchmark module (bench/bench_*.py) and print its tables.

Each module exposes `run() -> None` that prints a Markdown section. Benchmarks use only
loopback and files; `python -m bench NAME...` runs just the named ones (e.g. `extract`).
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
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
    if len(wanted) == 1:
        importlib.import_module(f"bench.bench_{wanted[0]}").run()
        return 0
    for name in wanted:
        # Each benchmark in a process of its own, so that its peak RSS and warm caches are its own.
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", "bench", name])
        print(f"\n({name}: {time.perf_counter() - started:.1f} s)\n", flush=True)
        if code != 0:
            print(f"benchmark {name} failed (exit {code})")
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
