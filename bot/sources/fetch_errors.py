"""What can go wrong fetching a source: one FetchError subclass per failure, each message one
line for a person (it is stored on the source and shown to its moderators)."""

from __future__ import annotations

from bot.errors import FetchError


class HTTPStatusError(FetchError):
    """The source answered with a status that is neither success nor a redirect."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


class RetryLater(HTTPStatusError):
    """429 or 503 with a usable Retry-After: the source asked to be left alone for `delay` s."""

    def __init__(self, status: int, url: str, delay: float) -> None:
        super().__init__(status, url)
        self.args = (f"HTTP {status} from {url}: asked to retry in {delay:.0f} s",)
        self.delay = delay


class FetchTimeout(FetchError):
    """Connecting, or the whole fetch, took longer than allowed."""


class TooLarge(FetchError):
    """The body, after decompression, is over the size cap."""


class TooManyRedirects(FetchError):
    """More redirects than allowed, or a loop."""


class NotHTTPError(FetchError):
    """The URL (or a redirect) is not http(s)."""


class ConnectionFailed(FetchError):
    """The connection could not be made or broke."""


class BadResponse(FetchError):
    """The response could not be read (bad encoding, broken compression, bad redirect)."""
