import subprocess
import sys
import tomllib
from pathlib import Path

from bot import __version__
from bot.cli import SUBCOMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]


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


def test_closed_pipe_gives_no_traceback(tmp_path):
    # Far more output than a pipe buffers, so the writer must meet the closed pipe.
    items = "".join(
        f"<item><guid>n{i}</guid><title>Item {i}</title><description>{'word ' * 100}"
        "</description></item>"
        for i in range(600)
    )
    feed = tmp_path / "big.rss"
    feed.write_text(f'<rss version="2.0"><channel><title>Big</title>{items}</channel></rss>')
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "preview", str(feed), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()  # the reader goes away, as `| head -c 10` would
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert "Traceback" not in stderr


def test_the_bulletin_console_script_is_the_same_program():
    # `make test` installs the project into the interpreter's environment, script included
    script = Path(sys.executable).with_name("bulletin")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"bulletin {__version__}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"] == {"bulletin": "bot.cli:main"}
