"""A polling process for the kill -9 soak.

`python -m tests.faults.poll_worker DB SOURCE UPDATES SEED` records polls of source id SOURCE
in the SQLite file DB, the Nth poll showing updates 0..N, up to poll UPDATES; then it prints
"done". Each run starts again from the first poll (a poll seen before changes nothing), so a
killed run is simply started again. SEED sets the pauses between polls: kills land anywhere.
"""

from __future__ import annotations

import asyncio
import random
import sys

from bot.store import open_store
from tests.builders import poll
from tests.delivery.conftest import T0, entry, snap


async def main(db: str, source: int, updates: int, seed: int) -> None:
    pace = random.Random(seed)
    store = await open_store(db)
    print("ready", flush=True)
    entries = [entry(0)]
    for n in range(1, updates + 1):
        entries.append(entry(n))
        await poll(store, source, snap(*entries), now=T0.replace(second=n))
        await asyncio.sleep(pace.uniform(0.0, 0.03))
    print("done", flush=True)
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], *map(int, sys.argv[2:5])))
