"""What every backend of the store does alike: the nonces of outbox rows, how often a seen
entry's `last_seen` is refreshed, how long a server that left is kept, how many updates a
message shows."""

from __future__ import annotations

import hashlib
from datetime import timedelta

# last_seen is refreshed at most this often, so that an unchanged poll writes (almost) nothing;
# pruning adds it to the retention window so that nothing is pruned early.
TOUCH_EVERY = timedelta(hours=1)
GUILD_GRACE = timedelta(days=7)  # a server that removed the bot is deleted after this
MAX_EMBEDS = 10  # a message shows at most this many updates


def us(delta: timedelta) -> int:
    """DELTA in whole microseconds."""
    return delta // timedelta(microseconds=1)


def outbox_nonce(subscription_id: int, source_id: int, kind: str, key: str, now_us: int) -> str:
    """A deterministic nonce for one delivery (Discord allows 25 characters)."""
    raw = f"{subscription_id}:{source_id}:{kind}:{key}:{now_us}".encode("utf-8", "surrogatepass")
    return "b" + hashlib.sha256(raw).hexdigest()[:24]


def nonce(prefix: str, *parts: object) -> str:
    """A deterministic nonce of PARTS (a starter, a pause's alert, a digest)."""
    raw = ":".join(map(str, parts)).encode("utf-8", "surrogatepass")
    return prefix + hashlib.sha256(raw).hexdigest()[:24]
