"""Run `bulletin` as a user does: a subprocess whose output is read as it comes."""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Bulletin:
    """`python -m bot ARGS` in CWD, without any Discord token in its environment unless ENV
    (variables added to the inherited environment) brings one; UNSET: variables taken out."""

    def __init__(
        self,
        *args: str,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        unset: tuple[str, ...] = (),
    ) -> None:
        self.args = args
        self.cwd = cwd
        self.extra_env = dict(env or {})
        self.unset = ("DISCORD_TOKEN", *unset)
        self.out = ""
        self.err = ""
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Bulletin:
        env = {k: v for k, v in os.environ.items() if k not in self.unset}
        env["PYTHONPATH"] = str(ROOT)
        env.update(self.extra_env)
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
        # Incremental: a chunk may end inside a multi-byte character (“quotes” in replies).
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := await stream.read(4096):
            setattr(self, name, getattr(self, name) + decoder.decode(chunk))
        setattr(self, name, getattr(self, name) + decoder.decode(b"", final=True))

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

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status, or None while it runs."""
        assert self._process is not None
        return self._process.returncode

    async def interrupt(self, within: float = 10.0) -> int:
        """Ctrl-C, and the exit status."""
        return await self.stop(signal.SIGINT, within)

    async def stop(self, sig: signal.Signals = signal.SIGTERM, within: float = 10.0) -> int:
        """Send SIG and wait (at most WITHIN seconds) for the exit status; all output read."""
        assert self._process is not None
        self._process.send_signal(sig)
        return await self.wait(within)

    async def wait(self, within: float = 10.0) -> int:
        """The exit status once it has exited on its own (TimeoutError after WITHIN seconds)."""
        assert self._process is not None
        status = await asyncio.wait_for(self._process.wait(), within)
        for reader in self._readers:
            await reader
        return status
