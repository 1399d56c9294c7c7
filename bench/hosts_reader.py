"""The peer of the hosts benchmark: the `reader` library (the engine of another Discord feed
bot) updating the same 1,000 feeds, in a process of its own so that its CPU and peak RSS are
its own. `python -m bench.hosts_reader HOSTS PORT DIRECTORY` prints one JSON line: per pass
(cold, warm, idle) the wall time and CPU seconds of `update_feeds(scheduled=False,
workers=1)`, and the peak RSS. Between the cold and the warm pass it asks the feed server for
the same change as Bulletin's run gets (a fifth of the feeds with a new item).
"""

from __future__ import annotations

import json
import resource
import sys
import time
import urllib.request
from pathlib import Path

from bench.hosts_server import FEEDS, feed_url


def main(hosts: int, port: int, directory: Path) -> dict[str, object]:
    from reader import make_reader

    reader = make_reader(str(directory / "reader.sqlite"))
    for feed in range(FEEDS):
        reader.add_feed(feed_url(feed, hosts, port))
    passes: dict[str, object] = {}
    for name in ("cold", "warm", "idle"):
        if name == "warm":
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/change") as answer:
                answer.read()
        wall, cpu = time.perf_counter(), time.process_time()
        reader.update_feeds(scheduled=False, workers=1)
        passes[name] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    reader.close()
    passes["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return passes


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))))
