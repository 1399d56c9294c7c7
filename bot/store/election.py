"""Elections: one process at a time, of all those using one database, holds a role.

The outbox has one deliverer at a time (`bot.delivery.dispatcher`), so that the fleet's sends
stay within `[delivery] rate` and each channel's updates go out once, in order. PostgreSQL
elects it with a session-level advisory lock held on a connection of its own
(`bot.store.postgres.election`): the lock goes when that connection does, so a dead holder's
role passes to whichever process asks next. An SQLite file serves one process, which always
holds every role (`Sole`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable


class Election(ABC):
    """A role that at most one process holds at a time."""

    @property
    @abstractmethod
    def held(self) -> bool:
        """Held as far as this process knows without asking (False once the connection that
        holds it is seen closed): checked before every send."""

    @abstractmethod
    async def campaign(self) -> bool:
        """Take the role if it is free, or confirm it is still held; whether it is held now.
        Never raises for a database that cannot be reached: that is not holding it."""

    @abstractmethod
    async def resign(self) -> None:
        """Give the role up (at a clean stop), so that another process takes it at once."""

    @abstractmethod
    async def announce(self) -> None:
        """Tell the holder, wherever it runs, that there is work for it (new outbox rows)."""

    @abstractmethod
    def on_announcement(self, callback: Callable[[], None]) -> None:
        """Call CALLBACK whenever work is announced while this candidate holds the role."""


class Sole(Election):
    """The role of a database that serves one process: always held."""

    @property
    def held(self) -> bool:
        return True

    async def campaign(self) -> bool:
        return True

    async def resign(self) -> None:
        return None

    async def announce(self) -> None:
        return None  # the one process wakes its own deliverer

    def on_announcement(self, callback: Callable[[], None]) -> None:
        return None


__all__ = ["Election", "Sole"]
