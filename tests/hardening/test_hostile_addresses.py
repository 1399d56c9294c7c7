"""Address tricks the unit tests of the policy do not reach: DNS rebinding through a real fetch.

(Spellings, private answers, redirects to private addresses and ports are covered in
tests/sources/test_fetch.py and test_addresses.py.)
"""

from __future__ import annotations

import errno
import socket

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.sources.addresses import AddressRefused
from bot.sources.fetch import Fetcher, open_session
from bot.sources.limits import FetchLimits
from tests.fakes.source_server import SourceServer


class RebindingDNS(AbstractResolver):
    """Answers the first lookup with FIRST and every later one with LATER."""

    def __init__(self, first: str, later: str) -> None:
        self.answers = [first, later]
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self.answers[min(self.lookups, 1)]
        self.lookups += 1
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        pass


async def test_a_name_rebound_to_another_address_is_refused_and_never_reached():
    async with SourceServer() as allowed:
        inner = SourceServer(host="127.0.0.2")
        inner.port = allowed.port
        try:
            # the hidden service listens on the same port, on an address not allowed
            await _start_on_port(inner, allowed.port)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                pytest.skip("127.0.0.2 port taken")
            raise
        try:
            allowed.page("/live", b"<html><h1>public page</h1></html>")
            inner.page("/live", b"<html><h1>internal admin</h1></html>")
            dns = RebindingDNS("127.0.0.1", "127.0.0.2")
            settings = FetchLimits(timeout=3.0, allow_private_addresses=(allowed.host_port,))
            url = f"http://rebind.example:{allowed.port}/live"
            for attempt in range(2):
                async with open_session(settings, resolver=dns) as session:
                    fetcher = Fetcher(session, settings)
                    if attempt == 0:
                        assert b"public page" in ((await fetcher.fetch(url)).document() or b"")
                    else:
                        with pytest.raises(AddressRefused, match=r"127\.0\.0\.2"):
                            await fetcher.fetch(url)
            assert (dns.lookups, inner.hits["/live"]) == (2, 0)
        finally:
            await inner.__aexit__(None, None, None)


async def _start_on_port(server: SourceServer, port: int) -> None:
    """Start SERVER on PORT (SourceServer picks a free port; here the port must match)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server._dispatch)
    server._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await server._runner.setup()
    await web.TCPSite(server._runner, server.host, port).start()
