"""The hosts cases of bench_poll.py: 1,000 RSS feeds under one host name and under fifty,
polled by Bulletin in console mode (bench/hosts_bulletin.py) and by the `reader` library
(bench/hosts_reader.py) one after the other in one run, against one feed server
(bench/hosts_server.py). Main's poller (before this work: BULLETIN_BENCH_BEFORE, a commit, by
default the last one before it; empty to leave it out) runs in the same run, for the
before-and-after rows.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import table
from bench.hosts_bulletin import run_bulletin
from bench.hosts_server import FEEDS, serve

BEFORE = "0d1f574"  # main before the per-host queues
ROOT = Path(__file__).resolve().parents[1]
# BULLETIN_BENCH_HOSTS ("1,50") and BULLETIN_BENCH_RUNS ("after,reader,before"): a part only
HOSTS = [int(n) for n in os.environ.get("BULLETIN_BENCH_HOSTS", "1,50").split(",")]
RUNS = os.environ.get("BULLETIN_BENCH_RUNS", "after,reader,before").split(",")


def _before_poller(directory: Path) -> Path | None:
    commit = os.environ.get("BULLETIN_BENCH_BEFORE", BEFORE)
    if not commit:
        return None
    shown = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:bot/polling/poller.py"],
        capture_output=True,
        check=False,
    )
    if shown.returncode != 0:
        return None
    path = directory / "poller_before.py"
    path.write_bytes(shown.stdout)
    return path


def _reader(hosts: int, port: int, directory: Path) -> dict[str, object] | None:
    if importlib.util.find_spec("reader") is None:
        return None
    done = subprocess.run(
        [sys.executable, "-m", "bench.hosts_reader", str(hosts), str(port), str(directory)],
        capture_output=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        print(f"(reader failed: {done.stderr.decode(errors='replace')[-500:]})")
        return None
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def _ms(seconds: float, count: float) -> str:
    return f"{seconds / count * 1000:.2f} ms"


def _bulletin_cell(result: dict[str, object] | None, name: str) -> str:
    if result is None:
        return "(not run)"
    one = result[name]
    assert isinstance(one, dict)
    return (
        f"{one['wall']:.1f} s, {_ms(one['cpu'], one['polls'])} per poll "
        f"({int(one['polls'])} polls; {_ms(one['cpu'], FEEDS)} per feed)"
    )


def _reader_cell(result: dict[str, object] | None, name: str) -> str:
    if "reader" not in RUNS:
        return "(not run)"
    if result is None:
        return "(skipped: `reader` is not installed: pip install -e '.[bench]')"
    one = result[name]
    assert isinstance(one, dict)
    return f"{one['wall']:.1f} s, {_ms(one['cpu'], FEEDS)} per feed"


def _gap(result: dict[str, object] | None) -> str:
    if result is None:
        return "-"
    idle = result["idle"]
    assert isinstance(idle, dict)
    if not idle["longest_gap"]:  # the pass ended before any feed was polled twice
        return f"over {idle['wall']:.0f} s (no feed polled twice in the pass)"
    return f"{idle['longest_gap']:.2f} s"


def _case(hosts: int) -> list[list[str]]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(hosts, child), daemon=True)
    server.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the feed server did not start")
        port = parent.recv()
        results: dict[str, dict[str, object] | None] = {}
        # BULLETIN_BENCH_KEEP: a directory that keeps the runs' files (logs, profiles)
        keep = os.environ.get("BULLETIN_BENCH_KEEP")
        with tempfile.TemporaryDirectory(prefix="bulletin-hosts-") as directory:
            root = Path(keep) / f"hosts-{hosts}" if keep else Path(directory)
            root.mkdir(parents=True, exist_ok=True)
            for name in RUNS:
                folder = root / name
                folder.mkdir(exist_ok=True)
                if name == "reader":
                    results[name] = _reader(hosts, port, folder)
                    continue
                poller = _before_poller(folder) if name == "before" else None
                if name == "before" and poller is None:
                    results[name] = None
                    continue
                results[name] = run_bulletin(hosts, port, folder, poller)
            for name in {"after", "reader", "before"} - set(RUNS):
                results[name] = None
    finally:
        server.terminate()
        server.join(5)
    where = "one host" if hosts == 1 else f"{hosts} hosts"
    rows = []
    for name in ("cold", "warm", "idle"):
        rows.append(
            [
                f"{where}: {name}",
                _reader_cell(results["reader"], name),
                _bulletin_cell(results["before"], name),
                _bulletin_cell(results["after"], name),
            ]
        )
    gaps = [_gap(results["before"]), _gap(results["after"])]
    rows.append([f"{where}: idle, each feed polled again within", "-", *gaps])
    peaks = ["-" if results["reader"] is None else f"{results['reader']['peak_mb']:.1f} MB"]
    peaks += [
        "-"
        if result is None
        else f"{result['peak_mb']:.1f} MB ({result['started_mb']:.1f} MB as the first poll "
        f"starts, {result['cold_mb']:.1f} MB after the cold pass)"
        for result in (results["before"], results["after"])
    ]
    rows.append([f"{where}: peak RSS", *peaks])
    return rows


def run_hosts() -> None:
    print(f"\n## Polling: {FEEDS:,} RSS feeds under one host and under fifty, beside `reader`\n")
    rows = [row for hosts in HOSTS for row in _case(hosts)]
    headers = ["pass", "reader: wall, CPU per feed", "Bulletin before", "Bulletin"]
    print(table(headers, rows))
    print(
        "\nBulletin: `bulletin run` in console mode (interval 2 s, concurrency 64, per_host 4); "
        "wall from the first request until every feed was asked once (cold), or from the "
        "change (warm) or the mark (idle); CPU of the whole process over the pass, divided by "
        "the polls it made. reader: `update_feeds(scheduled=False, workers=1)`. Before: "
        f"bot/polling/poller.py of {os.environ.get('BULLETIN_BENCH_BEFORE', BEFORE)}."
    )
