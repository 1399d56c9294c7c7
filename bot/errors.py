"""Errors whose message is meant for a person: the CLI and the bot print them as they are."""


class BulletinError(Exception):
    """Base of every error Bulletin reports to a user (one line, says what to do)."""


class ConfigError(BulletinError):
    """The configuration file has a wrong key or value; the message names it."""


class FetchError(BulletinError):
    """A source could not be fetched (network, status, size, address refused, ...)."""


class ExtractError(BulletinError):
    """A document was read but holds no live page, key-points box or feed."""
