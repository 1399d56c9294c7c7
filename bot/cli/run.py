"""`bulletin run [--config PATH]`: the bot; console mode when no Discord token is set."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from bot import app
from bot.config import load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help="settings file (default: ./config.toml if present, else built-in defaults)",
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # ConfigError: one line, exit 2 (bot.cli)
    logging.getLogger(__name__).info("%s", config.describe())
    return asyncio.run(app.main(config))
