"""Fetching sources over HTTP: politely, within limits, and only from public addresses.

`open_session(limits)` makes the aiohttp session (its connector resolves names through
`GuardedResolver`, so every address connected to is checked); the caller owns it and hands it to
`Fetcher`, which adds the concurrency limits, conditional GET, manual redirects, decompression
under a size cap (decompress.py), timeouts and the error taxonomy of fetch_errors.py. Every
failure is a FetchError subclass whose message is one line for a person. The limits are a
`FetchLimits` (limits.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import aiohttp
from yarl import URL

from bot import __version__
from bot.errors import FetchError
from bot.sources.addresses import (
    AddressPolicy,
    AddressRefused,
    GuardedResolver,
    parse_ip_literal,
)
from bot.sources.decompress import CHUNK, Decoder, decompress
from bot.sources.fetch_errors import (
    BadResponse,
    ConnectionFailed,
    FetchTimeout,
    HTTPStatusError,
    NotHTTPError,
    RetryLater,
    TooLarge,
    TooManyRedirects,
)
from bot.sources.limits import FetchLimits

log = logging.getLogger(__name__)

USER_AGENT = f"Bulletin/{__version__} (+https://github.com/bulletin-bot/bulletin; live news bot)"
ACCEPT = (
    "text/html,application/xhtml+xml,application/json,application/ld+json,"
    "application/rss+xml,application/atom+xml,application/feed+json,application/xml;q=0.9,"
    "*/*;q=0.5"
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CONNECT_TIMEOUT_MAX = 10.0
CHECKED_URLS = 20_000  # parsed URLs kept at most (then forgotten all at once)

__all__ = [
    "AddressRefused",
    "FetchResult",
    "FetchTimeout",
    "Fetcher",
    "HTTPStatusError",
    "NotHTTPError",
    "RetryLater",
    "TooLarge",
    "TooManyRedirects",
    "open_session",
]


# --- result -----------------------------------------------------------------------------------

FetchStatus = Literal["ok", "not_modified", "unchanged"]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch found.

    `ok`: a new body. `not_modified`: the server said 304. `unchanged`: a body came back with
    the hash the caller already had; `body` is None so nothing gets parsed. `etag`,
    `last_modified` and `body_hash` (of the decoded body) are what to store for the next
    conditional GET. `size`: the bytes of body read, decoded, whether it was new or not.

    `body` is kept as the server sent it, compressed with `encoding` when that is set: while
    it waits to be read it is several times smaller. `document()` decodes it (it was decoded
    once already, within the size cap, to be hashed: the same bytes decode again).
    """

    status: FetchStatus
    body: bytes | None
    content_type: str | None
    final_url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    size: int = 0
    encoding: str | None = None  # the Content-Encoding `body` is in; None: as it reads

    def document(self) -> bytes | None:
        """The body decoded; None when there is none. Decompresses at each call: call it
        where the document is read (the reading thread), once."""
        if self.body is None or self.encoding is None:
            return self.body
        return decompress(self.body, self.encoding, self.size)


# --- session ----------------------------------------------------------------------------------


def open_session(
    limits: FetchLimits, resolver: aiohttp.abc.AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """A ClientSession fit for Fetcher: address-checking resolver, no automatic decompression,
    no cookies, no proxies from the environment. Call inside a running loop; the caller closes it.

    RESOLVER is the DNS underneath the address check (default: the system's, via a thread).
    """
    policy = AddressPolicy.from_setting(limits.allow_private_addresses)
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(policy, resolver),
        limit=limits.concurrency,
        limit_per_host=limits.per_host,
        ttl_dns_cache=60,
    )
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


# --- Retry-After ------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit() and text.isascii():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


# --- the fetcher ------------------------------------------------------------------------------


class Fetcher:
    """Fetches source URLs through a session made by `open_session`.

    At most `limits.concurrency` fetches run at once, and `limits.per_host` per host;
    a fetch waiting for a slot has not started its clock yet, and one waiting for its host's
    slot holds no global slot.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        limits: FetchLimits,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        # Names are checked by the connector's resolver: a session made any other way would
        # fetch from private addresses behind public-looking names, so it is refused.
        # (aiohttp keeps the resolver in a private attribute; stable across 3.x.)
        if not isinstance(getattr(session.connector, "_resolver", None), GuardedResolver):
            raise TypeError("Fetcher needs a session made by open_session()")
        self._session = session
        self._limits = limits
        self._policy = AddressPolicy.from_setting(limits.allow_private_addresses)
        self._global = asyncio.Semaphore(limits.concurrency)
        self._per_host: dict[str, tuple[asyncio.Semaphore, int]] = {}
        self._clock = clock or (lambda: datetime.now(UTC))
        # Connecting gets half the budget (at most 10 s), so a host that never accepts is
        # reported as such rather than as a slow body.
        self._connect_timeout = min(CONNECT_TIMEOUT_MAX, limits.timeout / 2)
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=self._connect_timeout
        )
        # URLs already parsed and checked (the same sources come back at every poll), each
        # with the form it is fetched in; the check of an address written in a URL does not
        # depend on DNS, so it holds. Strings, not URL objects: aiohttp fills a URL object
        # with cached parts (about 850 bytes of them), and making one from a checked string
        # costs a fraction of a microsecond.
        self._checked: dict[str, str] = {}

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_hash: str | None = None,
    ) -> FetchResult:
        """Fetch URL once; raise a FetchError subclass when it cannot be done."""
        checked = self._checked.get(url)
        if checked is None:
            target = self._check_url(url)
            if len(self._checked) >= CHECKED_URLS:
                self._checked.clear()
            written = str(target)
            self._checked[url] = url if written == url else written
        else:
            target = URL(checked, encoded=True)
        host = target.host or ""
        # The host's slot first: a fetch queued behind a busy (or hanging) host must not sit
        # on one of the global slots meanwhile, or enough of them would starve every host.
        async with self._host_slot(host), self._global:
            try:
                async with asyncio.timeout(self._limits.timeout):
                    return await self._fetch(target, etag, last_modified, previous_hash)
            except TimeoutError:
                raise FetchTimeout(
                    f"timed out after {self._limits.timeout:g} s fetching {url}"
                ) from None

    def _check_url(self, url: str | URL) -> URL:
        try:
            target = url if isinstance(url, URL) else URL(url)
        except (ValueError, TypeError):
            raise NotHTTPError(f"not a valid URL: {str(url)[:200]!r}") from None
        if target.scheme not in ("http", "https"):
            shown = str(target)[:200]
            raise NotHTTPError(f"only http and https URLs can be fetched, got {shown!r}")
        if not target.host:
            raise NotHTTPError(f"URL has no host: {str(target)[:200]!r}")
        try:  # an empty or over-long label ("a..b") would fail deep inside the resolver
            target.host.encode("idna")
        except UnicodeError:
            raise NotHTTPError(f"not a valid host name: {target.host[:200]!r}") from None
        port = target.port or (443 if target.scheme == "https" else 80)
        # Addresses written in the URL never reach the resolver, so they are checked here;
        # loose IPv4 spellings (0x7f.1) are then written the one way aiohttp accepts.
        self._policy.check_literal(target.host, port)
        address = parse_ip_literal(target.host)
        if isinstance(address, ipaddress.IPv4Address) and target.host != str(address):
            target = target.with_host(str(address))
        return target.with_fragment(None)

    class _HostSlot:
        def __init__(self, fetcher: Fetcher, host: str) -> None:
            self._fetcher = fetcher
            self._host = host

        async def __aenter__(self) -> None:
            slots = self._fetcher._per_host
            semaphore, users = slots.get(self._host, (None, 0))
            if semaphore is None:
                semaphore = asyncio.Semaphore(self._fetcher._limits.per_host)
            slots[self._host] = (semaphore, users + 1)
            try:
                await semaphore.acquire()
            except BaseException:
                self._leave()
                raise

        async def __aexit__(self, *exc: object) -> None:
            semaphore, _ = self._fetcher._per_host[self._host]
            semaphore.release()
            self._leave()

        def _leave(self) -> None:
            # Drop a host's semaphore once nobody uses it, so the map stays small.
            semaphore, users = self._fetcher._per_host[self._host]
            if users <= 1:
                del self._fetcher._per_host[self._host]
            else:
                self._fetcher._per_host[self._host] = (semaphore, users - 1)

    def _host_slot(self, host: str) -> Fetcher._HostSlot:
        return Fetcher._HostSlot(self, host)

    async def _fetch(
        self,
        target: URL,
        etag: str | None,
        last_modified: str | None,
        previous_hash: str | None,
    ) -> FetchResult:
        headers = {"Accept": ACCEPT, "Accept-Encoding": "gzip, deflate, br"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        original = str(target)
        seen = {original}
        redirects = 0
        timeout = self._timeout
        while True:
            try:
                async with self._session.get(
                    target,
                    headers=headers,
                    allow_redirects=False,
                    timeout=timeout,
                ) as response:
                    if response.status in REDIRECT_STATUSES:
                        location = response.headers.get("Location")
                        if not location:
                            raise BadResponse(
                                f"HTTP {response.status} without a Location from {target}"
                            )
                        redirects += 1
                        if redirects > self._limits.max_redirects:
                            raise TooManyRedirects(
                                f"more than {self._limits.max_redirects} redirects from {original}"
                            )
                        try:
                            next_url = target.join(URL(location))
                        except ValueError:
                            raise BadResponse(
                                f"bad redirect Location {location[:200]!r} from {target}"
                            ) from None
                        target = self._check_url(next_url)
                        if str(target) in seen:
                            raise TooManyRedirects(f"redirect loop at {target} from {original}")
                        seen.add(str(target))
                        log.debug("%s: redirected (%d) to %s", original, response.status, target)
                        continue
                    return await self._read(response, target, etag, last_modified, previous_hash)
            except FetchError:
                raise
            except aiohttp.ConnectionTimeoutError:
                raise FetchTimeout(
                    f"connecting to {target.host} timed out after {self._connect_timeout:g} s"
                ) from None
            except TimeoutError:
                raise
            except aiohttp.ClientConnectorDNSError as exc:
                raise ConnectionFailed(f"cannot resolve {target.host}: {_reason(exc)}") from None
            except aiohttp.ClientConnectorError as exc:
                raise ConnectionFailed(f"cannot connect to {target.host}: {_reason(exc)}") from None
            except aiohttp.InvalidURL as exc:
                raise NotHTTPError(f"not a valid URL: {exc}") from None
            except aiohttp.ClientPayloadError as exc:
                raise ConnectionFailed(f"body cut short from {target}: {_reason(exc)}") from None
            except (aiohttp.ClientError, OSError) as exc:
                raise ConnectionFailed(f"fetching {target} failed: {_reason(exc)}") from None

    async def _read(
        self,
        response: aiohttp.ClientResponse,
        target: URL,
        etag: str | None,
        last_modified: str | None,
        previous_hash: str | None,
    ) -> FetchResult:
        status = response.status
        final_url = str(target)
        if status == 304:
            return FetchResult(
                status="not_modified",
                body=None,
                content_type=None,
                final_url=final_url,
                etag=response.headers.get("ETag") or etag,
                last_modified=response.headers.get("Last-Modified") or last_modified,
                body_hash=previous_hash,
            )
        if status in (429, 503):
            delay = parse_retry_after(response.headers.get("Retry-After"), self._clock())
            if delay is not None:
                raise RetryLater(status, final_url, delay)
        if not 200 <= status < 300:
            raise HTTPStatusError(status, final_url)
        body, encoding, body_hash, size = await self._read_body(response, final_url)
        unchanged = previous_hash is not None and body_hash == previous_hash
        return FetchResult(
            status="unchanged" if unchanged else "ok",
            body=None if unchanged else body,
            content_type=response.headers.get("Content-Type"),
            final_url=final_url,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            body_hash=body_hash,
            size=size,
            encoding=None if unchanged else encoding,
        )

    async def _read_body(
        self, response: aiohttp.ClientResponse, url: str
    ) -> tuple[bytes, str | None, str, int]:
        """The body as sent and its Content-Encoding (None: none), with the SHA-256 and the
        length of what it decodes to; TooLarge past the cap, compressed or decoded."""
        cap = self._limits.max_bytes
        too_large = TooLarge(f"body over {cap} bytes from {url}")
        encodings = [
            part.strip().lower()
            for part in response.headers.get("Content-Encoding", "").split(",")
            if part.strip() and part.strip().lower() != "identity"
        ]
        if len(encodings) > 1:
            raise BadResponse(f"unsupported Content-Encoding {', '.join(encodings)!r} from {url}")
        decoder = Decoder(encodings[0]) if encodings else None
        if decoder is None and (response.content_length or 0) > cap:
            raise too_large
        body = bytearray()
        digest = hashlib.sha256()
        size = 0
        try:
            async for chunk in response.content.iter_chunked(CHUNK):
                body += chunk
                # The compressed stream is capped too: it is never larger than what it holds
                # by more than a little, and an endless one must stop.
                if len(body) > cap:
                    raise too_large
                decoded = chunk if decoder is None else decoder.feed(chunk, cap - size)
                digest.update(decoded)
                size += len(decoded)
                if size > cap:
                    raise too_large
            if decoder is not None:
                rest = decoder.finish()
                digest.update(rest)
                size += len(rest)
        except TooLarge:
            raise too_large from None
        if size > cap:
            raise too_large
        encoding = None if decoder is None else decoder.encoding
        return bytes(body), encoding, digest.hexdigest(), size


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:200]
