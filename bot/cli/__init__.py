"""The `bulletin` command line: preview, replay, run, demo, db.

Each subcommand lives in its own module and exposes `add_arguments(parser)` and
`run(args) -> int`. Errors meant for a person (`BulletinError`) are printed as one line on
stderr with exit code 2; nothing ever prints a traceback to a user.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from bot import __version__
from bot.errors import BulletinError

# name → (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "preview": ("bot.cli.preview", "print what Bulletin reads from a page, feed or file"),
    "replay": ("bot.cli.replay", "print the changes between successive polls of one source"),
    "run": ("bot.cli.run", "run the bot (console mode when no Discord token is set)"),
    "demo": ("bot.cli.demo", "console demo: a live page served on localhost, followed live"),
    "db": ("bot.cli.db", "database tools: copy an SQLite database into PostgreSQL"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bulletin", description="Follow live news pages and feeds; post what is new."
    )
    parser.add_argument("--version", action="version", version=f"bulletin {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiosqlite logs every statement at DEBUG: too much even for -v.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    try:
        return int(args.handler(args))
    except BulletinError as error:
        # One write, newline included: print() writes the end separately, and a log record
        # from another thread (aiosqlite's, with -v) could land in between.
        sys.stderr.write(f"bulletin {args.command}: {error}\n")
        sys.stderr.flush()
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`bulletin preview ... | head`): not an error worth a traceback.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
