"""Errors whose message is meant for a person: the CLI and the bot print them as they are; and
`masked_url`, so that none of them ever shows a password."""

from urllib.parse import SplitResult, urlsplit, urlunsplit


def masked_url(url: str) -> str:
    """URL with its password, if any, shown as ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(an unreadable URL)"
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class BulletinError(Exception):
    """Base of every error Bulletin reports to a user (one line, says what to do)."""


class ConfigError(BulletinError):
    """The configuration file has a wrong key or value; the message names it."""


class FetchError(BulletinError):
    """A source could not be fetched (network, status, size, address refused, ...)."""


class ExtractError(BulletinError):
    """A document was read but holds no live page, key-points box or feed."""
