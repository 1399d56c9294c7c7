"""`bulletin run [--config PATH] [--shard-ids 0,1|none] [--web-listen ADDR]`: the bot; console
mode when no Discord token is set."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from bot import app
from bot.config import load_config, with_web_listen
from bot.discord.shards import Shards, parse_shard_ids


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help="settings file (default: ./config.toml if present, else built-in defaults)",
    )
    parser.add_argument(
        "--shard-ids",
        default=None,
        metavar="0,1|none",
        help="hold only these gateway shards of [discord] shard_count, or none (poll and "
        "deliver only); default: every shard",
    )
    parser.add_argument(
        "--web-listen",
        default=None,
        metavar="ADDR",
        help='serve health, metrics and the status page at ADDR ("127.0.0.1:8080"; "" turns '
        "it off), instead of the config's [web] listen",
    )


def run(args: argparse.Namespace) -> int:
    # Checked here, not by argparse, so that a bad value is one line (bot.cli), not usage too.
    shard_ids = None if args.shard_ids is None else parse_shard_ids(args.shard_ids)
    config = load_config(args.config)  # ConfigError: one line, exit 2 (bot.cli)
    if args.web_listen is not None:
        config = with_web_listen(config, args.web_listen)
    Shards(config.discord.shard_count, shard_ids)  # BulletinError when they do not fit it
    log = logging.getLogger(__name__)
    log.info("%s", config.describe())
    if shard_ids is not None and config.discord.token is None:
        log.warning("console mode (no Discord token): --shard-ids has no effect")
    return asyncio.run(app.main(config, shard_ids=shard_ids))
