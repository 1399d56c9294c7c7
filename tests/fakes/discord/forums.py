"""Forum channels in the fake Discord, as Discord's documentation describes them.

A forum (channel type 15) holds no messages of its own: each post is a public thread created
with its first message (`POST /channels/{forum}/threads` with `message`), whose id is the
thread's. A forum may offer up to 20 tags (`available_tags`); a post carries at most 5
(`applied_tags`); a forum with the REQUIRE_TAG flag refuses a post without one; a moderated tag
needs Manage Threads. Creating a post needs Send Messages in the forum. A thread is changed with
`PATCH /channels/{id}`: its owner may rename it, change its tags and unarchive it when it is not
locked (Send Messages); locking, and anything on a locked thread, needs Manage Threads; an
archived thread takes no change but `archived: false`. Threads' changes go out as THREAD_UPDATE.
`GET /channels/{id}/threads/archived/public` lists a channel's archived public threads (posts),
newest archived first, a page at a time (`before` a timestamp, `limit` 1 to 100, `has_more`);
it needs Read Message History.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .limits import validate_message
from .model import Channel, ChannelType, Guild, Overwrite, Perm, snowflake

if TYPE_CHECKING:
    from .server import FakeDiscord

REQUIRE_TAG = 1 << 4  # channel flag: a post must carry a tag
MAX_TAGS = 20  # a forum's tags
MAX_APPLIED = 5  # a post's tags
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
ARCHIVED_PAGE = 50  # archived threads in a page, unless the request says `limit`
THREAD_FIELDS = {
    "name",
    "archived",
    "auto_archive_duration",
    "locked",
    "invitable",
    "rate_limit_per_user",
    "flags",
    "applied_tags",
}
POST_FIELDS = {"name", "auto_archive_duration", "rate_limit_per_user", "message", "applied_tags"}
MESSAGE_FIELDS = {
    "content",
    "embeds",
    "allowed_mentions",
    "components",
    "sticker_ids",
    "attachments",
    "flags",
}


def _error(status: int, code: int, message: str, errors: Any = None) -> web.Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return web.json_response(body, status=status)


def _invalid(field: str, why: str) -> web.Response:
    errors = {field: {"_errors": [{"code": "INVALID_FORM_BODY", "message": why}]}}
    return _error(400, 50035, "Invalid Form Body", errors)


def tag(name: str, *, moderated: bool = False) -> dict[str, Any]:
    """A forum tag as Discord sends it."""
    return {
        "id": str(snowflake()),
        "name": name,
        "moderated": moderated,
        "emoji_id": None,
        "emoji_name": None,
    }


class Forums:
    """The forum part of a FakeDiscord: world-building for tests and the REST handlers."""

    def __init__(self, server: FakeDiscord) -> None:
        self.server = server
        # faults of the network, not of Discord: a post is made, and then its answer comes
        # after `reply_delay` seconds, or (`lost_replies` times) never (a 502 instead)
        self.reply_delay = 0.0
        self.lost_replies = 0

    # ---- the world -------------------------------------------------------------------------

    def add(
        self,
        guild: Guild,
        name: str,
        *,
        tags: tuple[str, ...] = (),
        require_tag: bool = False,
        overwrites: list[Overwrite] | None = None,
        moderated: tuple[str, ...] = (),
    ) -> Channel:
        """A forum channel with tags of these names (those in MODERATED: only moderators, with
        Manage Threads, may apply them)."""
        assert len(tags) <= MAX_TAGS
        forum = Channel(snowflake(), guild.id, name, ChannelType.FORUM, len(guild.channels))
        forum.overwrites = {ow.id: ow for ow in overwrites or []}
        forum.available_tags = [tag(t, moderated=t in moderated) for t in tags]
        forum.flags = REQUIRE_TAG if require_tag else 0
        guild.channels[forum.id] = forum
        self.server.channels[forum.id] = forum
        self.server._later("CHANNEL_CREATE", forum.payload())
        return forum

    def posts(self, forum: Channel) -> list[Channel]:
        """The forum's posts (threads) that exist now, oldest first."""
        guild = self.server.guild_of(forum)
        found = [c for c in guild.channels.values() if c.parent_id == forum.id and c.is_thread]
        return sorted(found, key=lambda c: c.id)

    def add_post(
        self, forum: Channel, name: str, *, by_bot: bool = True, archived_at: datetime | None = None
    ) -> Channel:
        """A post made earlier (by Bulletin, or BY_BOT False: by a member), archived at
        ARCHIVED_AT when given; no events (it was there before the test looks)."""
        guild = self.server.guild_of(forum)
        post = self._new_post(forum, name, self.server.bot_user.id if by_bot else guild.owner_id)
        if archived_at is not None:
            post.set_archived(True, at=archived_at)
        return post

    def _new_post(self, forum: Channel, name: str, owner_id: int) -> Channel:
        """A post (a public thread) of FORUM made by OWNER_ID, known to its server."""
        guild = self.server.guild_of(forum)
        post = Channel(
            snowflake(),
            guild.id,
            name,
            ChannelType.PUBLIC_THREAD,
            parent_id=forum.id,
            owner_id=owner_id,
            in_forum=True,
        )
        guild.channels[post.id] = post
        self.server.channels[post.id] = post
        return post

    def tag_names(self, post: Channel) -> list[str]:
        """The names of the tags a post carries, in its order."""
        forum = self.server.channels[post.parent_id or 0]
        names = {int(t["id"]): t["name"] for t in forum.available_tags}
        return [names[t] for t in post.applied_tags]

    # ---- REST ------------------------------------------------------------------------------

    async def create_post(self, forum: Channel, body: dict[str, Any]) -> web.Response:
        """POST /channels/{forum}/threads: a post and its first message."""
        server = self.server
        if (denied := server._need(forum, Perm.SEND_MESSAGES)) is not None:
            return denied
        unknown = set(body) - POST_FIELDS
        if unknown:
            return _invalid(sorted(unknown)[0], "not a field of a forum post")
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            return _invalid("name", "must be 1 to 100 characters")
        duration = body.get("auto_archive_duration", 1440)
        if duration not in ARCHIVE_DURATIONS:
            return _invalid("auto_archive_duration", f"must be one of {ARCHIVE_DURATIONS}")
        message = body.get("message")
        if not isinstance(message, dict) or not (message.get("content") or message.get("embeds")):
            return _invalid("message", "a post needs a first message with content or embeds")
        if set(message) - MESSAGE_FIELDS:
            return _invalid("message", "not a field of a forum post's message")
        if (problem := validate_message(message)) is not None:
            return _error(400, 50035, "Invalid Form Body", {"message": problem})
        tags = self._tags(forum, body.get("applied_tags", []))
        if isinstance(tags, web.Response):
            return tags
        if not tags and forum.flags & REQUIRE_TAG:
            return _error(400, 40067, "A tag is required to create a forum post in this channel")
        post = self._new_post(forum, name, server.bot_user.id)
        post.applied_tags = tags
        post.auto_archive_duration = duration
        first = server._new_message(post, server.bot_user, message, kind=0)
        # a post's first message has the post's id
        del server.messages[int(first["id"])]
        first["id"] = str(post.id)
        server.messages[post.id] = first
        server._record("create", first, message)
        await server.dispatch("THREAD_CREATE", post.payload() | {"newly_created": True})
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        if self.lost_replies > 0:
            self.lost_replies -= 1
            return _error(502, 0, "502: Bad Gateway")
        return web.json_response(post.payload() | {"message": first}, status=201)

    def archived_public(self, channel: Channel, query: Mapping[str, str]) -> web.Response:
        """GET /channels/{channel}/threads/archived/public: the channel's archived public
        threads, newest archived first, those archived before `before` (default: now), at most
        `limit` (default 50). The query's shape was checked against the spec already."""
        if channel.type not in (ChannelType.TEXT, ChannelType.NEWS, ChannelType.FORUM):
            return _error(400, 50024, "Cannot execute action on this channel type")
        if (denied := self.server._need(channel, Perm.READ_MESSAGE_HISTORY)) is not None:
            return denied
        before = datetime.fromisoformat(query["before"]) if "before" in query else None
        if before is not None and before.tzinfo is None:
            before = before.replace(tzinfo=UTC)
        limit = int(query.get("limit", ARCHIVED_PAGE))
        guild = self.server.guild_of(channel)
        found = sorted(
            (
                thread
                for thread in guild.channels.values()
                if thread.parent_id == channel.id
                and thread.type == ChannelType.PUBLIC_THREAD
                and thread.archived
                and (before is None or thread.archive_timestamp < before)
            ),
            key=lambda thread: (thread.archive_timestamp, thread.id),
            reverse=True,
        )
        # the fake keeps no thread membership: no thread member objects
        page = {"threads": [t.payload() for t in found[:limit]], "members": []}
        return web.json_response(page | {"has_more": len(found) > limit})

    async def modify_thread(self, thread: Channel, body: dict[str, Any]) -> web.Response:
        """PATCH /channels/{thread}."""
        server = self.server
        if (denied := server._need(thread)) is not None:
            return denied
        unknown = set(body) - THREAD_FIELDS
        if unknown:
            return _invalid(sorted(unknown)[0], "not a field of a thread")
        perms = server._bot_perms(thread)
        manages = bool(perms & Perm.MANAGE_THREADS)
        owns = thread.owner_id == server.bot_user.id
        missing = _error(403, 50013, "Missing Permissions")
        if thread.archived and body.get("archived") is not False:
            return _error(400, 50083, "Thread is archived")
        if thread.locked and not manages:
            return missing  # only a moderator may unarchive (or change) a locked thread
        if "locked" in body and not manages:
            return missing
        if ({"name", "applied_tags"} & set(body)) and not (owns or manages):
            return missing
        if body.get("archived") is False and not perms & Perm.SEND_MESSAGES:
            return missing
        if "applied_tags" in body:
            if not thread.in_forum:
                return _invalid("applied_tags", "only a forum post has tags")
            parent = server.channels[thread.parent_id or 0]
            tags = self._tags(parent, body["applied_tags"], manages=manages)
            if isinstance(tags, web.Response):
                return tags
            if not tags and parent.flags & REQUIRE_TAG:
                return _error(400, 40067, "A tag is required in this forum")
            thread.applied_tags = tags
        if "name" in body:
            name = body["name"]
            if not isinstance(name, str) or not 1 <= len(name) <= 100:
                return _invalid("name", "must be 1 to 100 characters")
            thread.name = name
        if "archived" in body:
            thread.set_archived(bool(body["archived"]))
        if "auto_archive_duration" in body:
            thread.auto_archive_duration = int(body["auto_archive_duration"])
        if "locked" in body:
            thread.locked = bool(body["locked"])
        await server.dispatch("THREAD_UPDATE", thread.payload())
        return web.json_response(thread.payload())

    def _tags(
        self, forum: Channel, given: Any, *, manages: bool | None = None
    ) -> list[int] | web.Response:
        """The tag ids of a request, checked against the forum's."""
        if not isinstance(given, list) or len(given) > MAX_APPLIED:
            return _invalid("applied_tags", f"at most {MAX_APPLIED} tags")
        if not all(isinstance(t, str) and t.isdigit() for t in given):
            return _invalid("applied_tags", "tag ids are snowflakes (strings of digits)")
        offered = {int(t["id"]): t for t in forum.available_tags}
        ids = [int(t) for t in given]
        if any(t not in offered for t in ids):
            return _invalid("applied_tags", "not a tag of this forum")
        if manages is None:
            manages = bool(self.server._bot_perms(forum) & Perm.MANAGE_THREADS)
        if not manages and any(offered[t]["moderated"] for t in ids):
            return _error(403, 50013, "Missing Permissions")
        return ids
