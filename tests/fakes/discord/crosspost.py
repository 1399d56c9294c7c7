"""Publishing (crossposting) a message of an announcement channel, as Discord does it:
POST /channels/{channel_id}/messages/{message_id}/crosspost, about 10 an hour per channel
(`RateLimits.crosspost`), SEND_MESSAGES for one's own message (MANAGE_MESSAGES for another's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .model import ChannelType, Perm

if TYPE_CHECKING:
    from .server import FakeDiscord

CROSSPOSTED = 1 << 0  # the message's flag once published
ALREADY_CROSSPOSTED = 40033
WRONG_CHANNEL_TYPE = 50024


async def crosspost(server: FakeDiscord, request: web.Request) -> web.Response:
    from .server import error  # the one error shape of the fake

    channel = server.channels.get(int(request.match_info["channel_id"]))
    if channel is None:
        return error(404, 10003, "Unknown Channel")
    message = server.messages.get(int(request.match_info["message_id"]))
    if message is None or message["channel_id"] != str(channel.id):
        return error(404, 10008, "Unknown Message")
    own = message["author"]["id"] == str(server.bot_user.id)
    need = Perm.SEND_MESSAGES if own else Perm.MANAGE_MESSAGES
    if (denied := server._need(channel, need)) is not None:
        return denied
    if channel.type != ChannelType.NEWS:
        return error(400, WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type")
    if message["flags"] & CROSSPOSTED:
        return error(400, ALREADY_CROSSPOSTED, "This message has already been crossposted")
    message["flags"] |= CROSSPOSTED
    server._record("crosspost", message, None)
    return web.json_response(message)
