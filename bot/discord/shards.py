"""Gateway shards: which shard carries a server, which shards a process holds, and which
stored servers a shard's READY shows the bot has left.

Discord splits a bot's servers over `shard_count` gateway connections: server G belongs to shard
`(G >> 22) % shard_count`. `[discord] shard_count` fixes the count for a fleet (every process must
use the same); `bulletin run --shard-ids 0,1` makes a process hold only those shards, and
`--shard-ids none` none at all (it polls and delivers over REST only). Nothing here imports
discord.py: the command line checks its options with it before the bot is loaded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from bot.errors import BulletinError

OPTION = "--shard-ids"
NO_SHARDS = "none"


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that carries the server, as Discord defines it."""
    return (guild_id >> 22) % shard_count


def left_while_away(
    stored: Iterable[int], present: Collection[int], *, shard_id: int, shard_count: int
) -> list[int]:
    """The servers a shard's READY shows the bot has left: those the store holds as present
    that belong to SHARD_ID and are not among PRESENT (the servers its READY listed). A server
    of another shard is never among them, whatever PRESENT says: that shard's READY decides."""
    return [
        guild_id
        for guild_id in stored
        if shard_of(guild_id, shard_count) == shard_id and guild_id not in present
    ]


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """`0,1` → (0, 1); `none` → () (no gateway connection). BulletinError naming the option
    for anything else."""
    value = text.strip()
    if value.lower() == NO_SHARDS:
        return ()
    problem = f"{OPTION}: must be shard numbers separated by commas (0,1) or {NO_SHARDS}"
    parts = [part.strip() for part in value.split(",")]
    if not value or not all(part.isascii() and part.isdigit() for part in parts):
        raise BulletinError(f"{problem}, got {text!r}")
    ids = [int(part) for part in parts]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise BulletinError(f"{OPTION}: shard {repeated[0]} is given twice")
    return tuple(sorted(ids))


@dataclass(frozen=True, slots=True)
class Shards:
    """The gateway shards one process holds.

    `count` is `[discord] shard_count` (None: Discord's recommended count, asked at start);
    `ids` is None for every shard of the count, () for none (REST only), else those shards.
    """

    count: int | None = None
    ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not self.ids:
            return
        if self.count is None:
            raise BulletinError(
                f"{OPTION} {_listed(self.ids)} needs [discord] shard_count in the config "
                "(the same in every process of the fleet)"
            )
        beyond = [i for i in self.ids if i >= self.count]
        if beyond:
            raise BulletinError(
                f"{OPTION}: there is no shard {beyond[0]} when [discord] shard_count is "
                f"{self.count} (shards are numbered 0 to {self.count - 1})"
            )

    @property
    def gateway(self) -> bool:
        """Whether this process connects to the gateway at all."""
        return self.ids != ()

    @property
    def speaks_for_the_fleet(self) -> bool:
        """Whether this process holds shard 0: the one that syncs the commands at start, so
        that a fleet restarting does not run into Discord's two syncs a minute."""
        return self.ids is None or 0 in self.ids

    def describe(self) -> str:
        """For the log: what this process holds."""
        if not self.gateway:
            return "no gateway shard (polling and delivering over REST only)"
        count = "Discord's recommended count" if self.count is None else str(self.count)
        if self.ids is None:
            return f"every shard of {count}"
        noun = "shard" if len(self.ids) == 1 else "shards"
        return f"{noun} {_listed(self.ids)} of {count}"


def _listed(ids: Iterable[int]) -> str:
    return ",".join(str(i) for i in ids)
