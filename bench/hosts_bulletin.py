"""Bulletin's side of the hosts benchmark: `bulletin run` in console mode, as a process of its
own, following the 1,000 feeds of bench/hosts_server.py (one story each, `interval = 2`,
`concurrency = 64`, the default `per_host`), watched from outside: its CPU and peak RSS from
/proc, its polls from the feed server's request log.

Passes: cold (from the first request until every feed has been asked once), warm (a fifth of
the feeds changed, then until every feed has been asked again), idle (nothing changes: WINDOW
seconds, how long until every feed was asked, and the longest time between two polls of one
feed). CPU per poll is the process's CPU over the pass divided by the requests it made (a feed
polled early in a long pass is polled again within it: those polls count too).

`python -m bench.hosts_bulletin CONFIG [POLLER]` is the process itself; POLLER, a file holding
another version of bot/polling/poller.py (main's, for the before-and-after rows), replaces the
poller.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.hosts_server import FEEDS, feed_host, feed_url

IDLE_WINDOW = 8.0  # seconds: four intervals
PASS_LIMIT = 150.0  # a pass not over by then is reported as such
SETTLE = 6.0  # seconds between the cold pass and the warm one


def write_config(directory: Path, hosts: int, port: int) -> Path:
    allowed = ", ".join(f'"{feed_host(host, hosts)}:{port}"' for host in range(hosts))
    lines = [
        "[database]",
        f'path = "{directory / "bulletin.db"}"',
        "[polling]",
        "interval = 2",
        "min_interval = 1",
        "concurrency = 64",
        f"allow_private_addresses = [{allowed}]",
    ]
    for feed in range(FEEDS):
        lines += ["[[stories]]", f'name = "Section {feed}"']
        lines.append(f'sources = ["{feed_url(feed, hosts, port)}"]')
    path = directory / "bench.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ask(port: int, what: str) -> dict[str, float | None]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{what}") as answer:
        body = answer.read()
    return json.loads(body) if what == "report" else {}


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_for(port: int, field: str, limit: float) -> dict[str, float | None]:
    deadline = time.monotonic() + limit
    while True:
        report = _ask(port, "report")
        if report[field] is not None or time.monotonic() > deadline:
            return report
        time.sleep(0.02)


def _pass(port: int, pid: int, report: dict[str, float | None], cpu: float) -> dict[str, float]:
    wall = report["every"]
    requests = report["requests"] or 1
    return {
        "wall": float("nan") if wall is None else wall,
        "cpu": _cpu(pid) - cpu,
        "polls": float(requests),
        "longest_gap": report["longest_gap"] or 0.0,
    }


def run_bulletin(hosts: int, port: int, directory: Path, poller: Path | None) -> dict[str, object]:
    config = write_config(directory, hosts, port)
    env = {key: value for key, value in os.environ.items() if key != "DISCORD_TOKEN"}
    command = [sys.executable, "-m", "bench.hosts_bulletin", str(config)]
    # BULLETIN_BENCH_PROFILE=PASS: pyinstrument's report of that pass, in DIRECTORY/PASS.txt;
    # =memory: the largest Python allocations (tracemalloc) after the cold pass
    profiled = os.environ.get("BULLETIN_BENCH_PROFILE")
    if profiled:
        env["BULLETIN_BENCH_PROFILE_TO"] = str(directory / f"{profiled}.txt")
    if poller is not None:
        command.append(str(poller))
    _ask(port, "mark")
    with (directory / "bulletin.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        passes: dict[str, object] = {}

        def profile(name: str, sent: signal.Signals) -> None:
            if profiled == name:
                process.send_signal(sent)

        _wait_for(port, "first", 60)
        passes["started_mb"] = _peak_mb(process.pid)  # imports, config and the first read
        profile("cold", signal.SIGUSR1)
        cpu = _cpu(process.pid)
        report = _wait_for(port, "every", PASS_LIMIT)
        profile("cold", signal.SIGUSR2)
        profile("memory", signal.SIGUSR2)
        cold = _pass(port, process.pid, report, cpu)
        cold["wall"] -= report["first"] or 0.0
        passes["cold"] = cold
        passes["cold_mb"] = _peak_mb(process.pid)
        time.sleep(SETTLE)  # the cold pass's last polls and the console's first key points
        _ask(port, "change")
        _ask(port, "mark")
        profile("warm", signal.SIGUSR1)
        cpu = _cpu(process.pid)
        report = _wait_for(port, "every", PASS_LIMIT)
        profile("warm", signal.SIGUSR2)
        passes["warm"] = _pass(port, process.pid, report, cpu)
        time.sleep(1.0)
        _ask(port, "mark")
        profile("idle", signal.SIGUSR1)
        cpu = _cpu(process.pid)
        time.sleep(IDLE_WINDOW)
        report = _wait_for(port, "every", PASS_LIMIT)
        profile("idle", signal.SIGUSR2)
        passes["idle"] = _pass(port, process.pid, report, cpu)
        passes["peak_mb"] = _peak_mb(process.pid)
        return passes
    finally:
        process.send_signal(signal.SIGINT)  # a clean stop (and the profiler's report)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _memory_on_signal(path: str) -> None:
    """Python's allocations traced from the start; SIGUSR2 writes the largest to PATH, and
    what grew since polling started (console mode's start) by line."""
    import tracemalloc

    tracemalloc.start(1)
    import bot.app

    started: list[tracemalloc.Snapshot] = []
    run_console = bot.app.run_console

    async def marked(*args: Any, **kwargs: Any) -> None:
        started.append(tracemalloc.take_snapshot())
        await run_console(*args, **kwargs)

    bot.app.run_console = marked  # type: ignore[assignment]

    def write(*_: object) -> None:
        now = tracemalloc.take_snapshot()
        top = [str(stat) for stat in now.statistics("filename")[:40]]
        if started:
            top += ["", "grown since polling started:"]
            top += [str(stat) for stat in now.compare_to(started[0], "lineno")[:40]]
        Path(path).write_text("\n".join(top))

    signal.signal(signal.SIGUSR2, write)


def _profile_on_signals(path: str) -> None:
    """SIGUSR1 starts pyinstrument, SIGUSR2 stops it and writes its text report to PATH."""
    if path.endswith("memory.txt"):
        _memory_on_signal(path)
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")

    def start(*_: object) -> None:
        profiler.start()

    def stop(*_: object) -> None:
        profiler.stop()
        Path(path).write_text(profiler.output_text(show_all=False, color=False))

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


def _launch(config: str, poller: str | None) -> int:
    profile_to = os.environ.get("BULLETIN_BENCH_PROFILE_TO")
    if profile_to:
        _profile_on_signals(profile_to)
    if poller is not None:
        import bot.polling.poller

        spec = importlib.util.spec_from_file_location("bot.polling.poller_before", poller)
        assert spec is not None and spec.loader is not None
        before = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(before)
        bot.polling.poller.Poller = before.Poller  # type: ignore[misc]
    if os.environ.get("BULLETIN_BENCH_UVLOOP"):
        import uvloop

        uvloop.install()
    from bot.cli import main

    return main(["run", "--config", config])


if __name__ == "__main__":
    raise SystemExit(_launch(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
