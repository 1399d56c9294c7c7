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


def test_closed_pipe_gives_no_traceback(fixtures_dir):
    page = fixtures_dir / "liveblog" / "corkbeo_2020-10-06_level3-live.html"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "preview", str(page), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.read(10)
    process.stdout.close()  # the reader goes away, as `| head -c 10` would
    stderr = process.stderr.read().decode() if process.stderr else ""
    process.wait(timeout=60)
    assert "Traceback" not in stderr
