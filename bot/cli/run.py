"""`bulletin run [--config PATH] [--web-listen ADDR]`: the bot; console mode when no Discord
token is set."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from bot import app
from bot.config import load_config, with_web_listen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help="settings file (default: ./config.toml if present, else built-in defaults)",
    )
    parser.add_argument(
        "--web-listen",
        default=None,
        metavar="ADDR",
        help='serve health, metrics and the status page at ADDR ("127.0.0.1:8080"; "" turns '
        "it off), instead of the config's [web] listen",
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # ConfigError: one line, exit 2 (bot.cli)
    if args.web_listen is not None:
        config = with_web_listen(config, args.web_listen)
    logging.getLogger(__name__).info("%s", config.describe())
    return asyncio.run(app.main(config))
