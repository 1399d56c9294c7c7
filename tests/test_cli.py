import subprocess
import sys

from bot import __version__
from bot.cli import SUBCOMMANDS, build_parser


def test_version_is_printed():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"bulletin {__version__}"


def test_every_subcommand_has_help():
    parser = build_parser()
    help_text = parser.format_help()
    for name in SUBCOMMANDS:
        assert name in help_text
