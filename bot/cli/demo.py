"""`bulletin demo` (not built yet)."""

from __future__ import annotations

import argparse

from bot.errors import BulletinError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise BulletinError("'demo' is not available yet")
