"""Helpers for the web window's end-to-end tests: where a running `bulletin run` serves, and
reading its endpoints over loopback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.process import Bulletin

_SERVING = re.compile(r"web window at (http://\S+) ")


async def web_url(bulletin: Bulletin, within: float = 20.0) -> str:
    """The address the process says its web window serves at (any bound host read as
    127.0.0.1: the tests reach it over loopback)."""
    async with asyncio.timeout(within):
        while (found := _SERVING.search(bulletin.err)) is None:
            if bulletin.returncode is not None:
                raise AssertionError(f"exited early:\n{bulletin.err}")
            await asyncio.sleep(0.05)
    return re.sub(r"//[^:/]+:", "//127.0.0.1:", found.group(1))


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a metrics page, read by the client's parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def eventually(
    check: Callable[[], Awaitable[Any]], *, within: float = 20.0, every: float = 0.2
) -> Any:
    """CHECK's first truthy result, tried until WITHIN seconds have passed (its last answer in
    the failure)."""
    last: Any = None
    try:
        async with asyncio.timeout(within):
            while True:
                last = await check()
                if last:
                    return last
                await asyncio.sleep(every)
    except TimeoutError:
        raise AssertionError(f"never happened; last answer: {last!r}") from None


async def get_json(
    http: aiohttp.ClientSession, url: str, **options: Any
) -> tuple[int, dict[str, Any]]:
    async with http.get(url, **options) as response:
        return response.status, await response.json()


async def get_text(http: aiohttp.ClientSession, url: str, **options: Any) -> tuple[int, str]:
    async with http.get(url, **options) as response:
        return response.status, await response.text()
