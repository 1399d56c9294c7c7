"""A changed poll written in one statement: the UPDATE of the source's row (guarded by its
version) and, as data-modifying CTEs that run only when it matched, the entries inserted, those
updated, those seen again, the key-point version and the outbox rows. One statement is one
transaction of its own: no BEGIN and COMMIT round trips, and all or nothing, as before."""

from __future__ import annotations

from collections.abc import Sequence

GUARD = "EXISTS (SELECT 1 FROM src)"  # the source's row moved: this poll is the one recorded


class Statement:
    """A statement built part by part; `param` adds a value and gives its placeholder."""

    def __init__(self, source_update: str, source_args: Sequence[object]) -> None:
        self.args: list[object] = list(source_args)
        self._parts = [f"src AS ({source_update} RETURNING id)"]

    def param(self, value: object, cast: str = "") -> str:
        self.args.append(value)
        return f"${len(self.args)}{cast}"

    def add(self, name: str, sql: str) -> None:
        """A data-modifying part; it must test GUARD, so that a stale poll writes nothing."""
        self._parts.append(f"{name} AS ({sql})")

    @property
    def sql(self) -> str:
        """The statement; it returns how many source rows it updated (0: stale)."""
        return f"WITH {', '.join(self._parts)} SELECT count(*) FROM src"  # noqa: S608 - ours
