"""`bulletin db copy --from PATH --to URL`: an SQLite database into an empty PostgreSQL one.

Progress goes to stderr, a line per table; a target that is not empty, or one that cannot be
reached, is one line and exit status 2 (nothing is written). See `bot.store.copy`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.errors import BulletinError, masked_url
from bot.store.targets import is_postgres_url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    copy = actions.add_parser(
        "copy",
        help="copy an SQLite database into an empty PostgreSQL one",
        description="Copy an SQLite database (stories, sources, seen entries, key points, "
        "subscriptions and their filters, settings, the outbox, what was posted where, the "
        "delivery history and the routing decisions) into an empty "
        "PostgreSQL database, in one transaction.",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="PATH", help="SQLite file")
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="PostgreSQL URL, postgresql://USER@HOST:PORT/DBNAME (an empty database)",
    )


def _tell(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    if not is_postgres_url(args.target):
        raise BulletinError(
            f"--to must be a PostgreSQL URL (postgresql://USER@HOST:PORT/DBNAME), "
            f"got {masked_url(args.target)!r}"
        )
    _tell(f"copying {args.source} into {masked_url(args.target)}")
    from bot.store.copy import copy_database  # asyncpg, loaded only for this command

    copied = asyncio.run(copy_database(args.source, args.target, progress=_tell))
    _tell(
        f"copied {copied.total:,} rows of {len(copied.rows)} tables in {copied.seconds:.1f} s"
        " (one transaction, committed)"
    )
    return 0
