"""Run `bulletin` as a user does: a subprocess whose output is read as it comes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Bulletin:
    """`python -m bot ARGS` in CWD, without any Discord token in its environment."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.args = args
        self.cwd = cwd
        self.out = ""
        self.err = ""
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Bulletin:
        env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
        env["PYTHONPATH"] = str(ROOT)
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self.args,
            cwd=self.cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(self._process.stdout, "out")),
            asyncio.create_task(self._read(self._process.stderr, "err")),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        for reader in self._readers:
            await reader

    async def _read(self, stream: asyncio.StreamReader, name: str) -> None:
        while chunk := await stream.read(4096):
            setattr(self, name, getattr(self, name) + chunk.decode())

    async def wait_for_output(self, done: Callable[[str], bool], within: float = 20.0) -> None:
        """Until DONE(stdout so far) holds (TimeoutError with the output otherwise)."""
        try:
            async with asyncio.timeout(within):
                while not done(self.out):
                    assert self._process is not None
                    if self._process.returncode is not None:
                        raise AssertionError(f"exited early:\n{self.out}\n{self.err}")
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"output never matched:\n{self.out}\n{self.err}") from None

    async def interrupt(self, within: float = 10.0) -> int:
        """Ctrl-C, and the exit status."""
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)
        status = await asyncio.wait_for(self._process.wait(), within)
        for reader in self._readers:
            await reader
        return status
