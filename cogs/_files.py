"""Files through interactions: an attachment a member gave (read from the URL Discord gave,
within a size cap), and files Bulletin sends (typed as Discord's OpenAPI spec types them)."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord

from bot.errors import BulletinError

READ_TIMEOUT = 30.0  # seconds for a whole download from Discord's CDN
CHUNK = 64 * 1024


class AttachmentRefused(BulletinError):
    """An attachment Bulletin will not read (too large) or could not download."""


async def read_attachment(
    url: str, declared_size: int, *, limit: int, too_large: str, seconds: float = READ_TIMEOUT
) -> bytes:
    """The bytes of an attachment at URL (the one Discord gave: no redirect is followed).

    Refused with TOO_LARGE when Discord says it is over LIMIT bytes, and when more than that
    arrives whatever it said: the read stops at LIMIT + 1 bytes. Discord's CDN is not a
    source, so the sources' address policy does not apply; nothing but this URL is fetched."""
    if declared_size > limit:
        raise AttachmentRefused(too_large)
    body = bytearray()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise AttachmentRefused(
                    f"Bulletin could not download that file from Discord (HTTP "
                    f"{response.status}); upload it again with the command."
                )
            async for chunk in response.content.iter_chunked(CHUNK):
                body += chunk
                if len(body) > limit:
                    raise AttachmentRefused(too_large)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise AttachmentRefused(
            f"Bulletin could not download that file from Discord ({type(error).__name__}); "
            "try the command again in a minute."
        ) from error
    return bytes(body)


class SpecFile(discord.File):
    """A file to upload whose attachment id goes out as a string of digits, as Discord's
    OpenAPI specification types every snowflake (discord.py writes the index as a number)."""

    def to_dict(self, index: int) -> dict[str, Any]:
        payload = super().to_dict(index)
        payload["id"] = str(index)
        return payload
