"""Forum channels: one post per story, titled with the story's name, whose first message holds
the key points (edited as they change); everything else goes into the post as replies.

Tags: a forum's tags named "Live" and "Ended" (any case) follow the story's status; Bulletin
never creates tags and leaves the post's other tags as they are. Creating a post takes no nonce,
so a post is made at most once per story and forum this way: the starter row is claimed (the
intent, written before the request) and, when a row claimed or tried before is sent again (after
a restart, a timeout or a 5xx), the server's active threads are looked at first, then the
forum's most recently archived posts (one made before a crash may have been archived while
Bulletin was away), and a post of the story's name owned by Bulletin is taken as the one made
before; an archived one is reopened by the next message or edit sent into it. The pure parts
(which tags, which post) are functions here; `ForumPosts` does the requests through the sink.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import aiohttp
import discord
from discord.http import Route

from bot import limits
from bot.delivery.limiter import RateLimiter
from bot.delivery.render import Payload
from bot.model import FailureReason, PauseReason, StoryStatus
from bot.outcome import Paused, Retry, Sent, ThreadStarted
from bot.store import Delivery, SubscriptionRecord

log = logging.getLogger(__name__)

POST_ARCHIVE_MINUTES: Final = 10080  # a week of quiet before Discord archives a post
LIVE_TAG: Final = "live"
ENDED_TAG: Final = "ended"
REQUIRE_TAG: Final = 1 << 4  # a forum's flag: every post must carry a tag
TAG_REQUIRED: Final = 40067  # Discord's code for a post without the tag its forum requires
# A post looked for among the archived ones can only have been archived after it was made (at
# an earlier try of the starter row), and Discord lists the most recently archived first: it is
# on the first page unless 50 other posts of the forum were archived since. Two pages of 50 find
# it unless a hundred were (a busy forum over days while Bulletin was down); each further page
# would cost a request on every retry, for an ever older post ever less likely to be this one.
ARCHIVED_PAGES: Final = 2
ARCHIVED_PAGE_SIZE: Final = 50


@dataclass(frozen=True, slots=True)
class StatusTags:
    """The forum's tags that say a story's status (None: the forum has no such tag)."""

    live: int | None = None
    ended: int | None = None

    @property
    def any(self) -> bool:
        return self.live is not None or self.ended is not None

    def for_status(self, status: StoryStatus) -> int | None:
        return self.ended if status is StoryStatus.ENDED else self.live

    def for_new_post(self, status: StoryStatus, *, required: bool) -> int | None:
        """The tag a new post starts with: the status's; in a forum that requires a tag and
        lacks that one, the other (the only post Discord would take)."""
        tag = self.for_status(status)
        if tag is None and required:
            tag = self.live if self.live is not None else self.ended
        return tag


def status_tags(available: Iterable[Mapping[str, Any]]) -> StatusTags:
    """The tags named "Live" and "Ended" (any case, spaces around ignored) of a forum's
    `available_tags`."""
    found: dict[str, int] = {}
    for tag in available:
        name = str(tag.get("name", "")).strip().casefold()
        if name in (LIVE_TAG, ENDED_TAG) and name not in found:
            found[name] = int(tag["id"])
    return StatusTags(live=found.get(LIVE_TAG), ended=found.get(ENDED_TAG))


def retagged(current: Sequence[int], tags: StatusTags, status: StoryStatus) -> list[int] | None:
    """The post's tags once they say STATUS: the other status tag off, the matching one on
    (other tags kept, in their order); None when nothing changes or the forum has no tag for
    STATUS (the post keeps what it has rather than be left saying nothing)."""
    wanted = tags.for_status(status)
    if wanted is None:
        return None
    other = tags.live if wanted == tags.ended else tags.ended
    result = [tag for tag in current if tag != other]
    if wanted not in result:
        result.append(wanted)
    result = result[:5]  # a post carries at most 5 tags
    return None if result == list(current) else result


def post_title(story_name: str) -> str:
    """A post's title: the story's name, within Discord's 100 characters."""
    return story_name.strip()[: limits.THREAD_NAME] or "Updates"


def find_post(
    threads: Iterable[Mapping[str, Any]], *, forum_id: int, owner_id: int, title: str
) -> int | None:
    """The oldest post of this forum with this title made by Bulletin (None: none), open or
    archived. A locked post was closed by a moderator: never taken."""
    found = [
        int(thread["id"])
        for thread in threads
        if str(thread.get("parent_id")) == str(forum_id)
        and str(thread.get("owner_id")) == str(owner_id)
        and thread.get("name") == title
        and not (thread.get("thread_metadata") or {}).get("locked")
    ]
    return min(found) if found else None


def forum_refusal(requires_tag: bool, tags: StatusTags, forum_mention: str) -> str | None:
    """Why /subscribe refuses a forum, or None: one that requires a tag on every post must
    offer "Live" or "Ended" (Bulletin never creates tags, and applies no other)."""
    if requires_tag and not tags.any:
        return (
            f"{forum_mention} requires a tag on every post, and Bulletin only applies tags "
            "named “Live” and “Ended”. Add one of them to the forum (Edit Channel → Tags), "
            "or turn off “Require people to select tags”, then subscribe again."
        )
    return None


def moderated_refusal(
    available: Iterable[Mapping[str, Any]], *, manages_threads: bool, forum_mention: str
) -> str | None:
    """Why /subscribe refuses a forum whose "Live" or "Ended" tag only moderators may apply
    when Bulletin may not (Manage Threads), or None."""
    if manages_threads:
        return None
    names = [
        str(tag.get("name", "")).strip()
        for tag in available
        if tag.get("moderated")
        and str(tag.get("name", "")).strip().casefold() in (LIVE_TAG, ENDED_TAG)
    ]
    if not names:
        return None
    shown = " and ".join(f"“{name}”" for name in names)
    return (
        f"Only moderators may apply {shown} in {forum_mention}: give Bulletin Manage Threads "
        "there (channel settings → Permissions), or let everyone apply the tag, then try again."
    )


def post_message(payload: Payload) -> dict[str, Any]:
    """A rendered payload as the first message of a forum post (Discord's JSON)."""
    message: dict[str, Any] = {
        "embeds": payload["embeds"],
        "allowed_mentions": payload["allowed_mentions"],
    }
    if payload.get("content"):
        message["content"] = payload["content"]
    return message


def intent_recorded(row: Delivery) -> bool:
    """Was this starter claimed or tried before this send (a post may exist already)?"""
    return row.batch is not None or row.attempts > 0


class AnswerLost(Exception):
    """Discord answered a post's creation with a server error: the post may exist."""


async def tried_once(response: aiohttp.ClientResponse) -> None:
    """discord.py sends a request again after a 500, 502, 504 or 524; a post made before the
    error would then be made twice. The error is raised here instead, before discord.py sees
    it, and the next attempt looks for the post first."""
    if response.status >= 500:
        response.release()
        raise AnswerLost(f"Discord answered {response.status}")


class Requests(Protocol):
    client: discord.Client
    limiter: RateLimiter


class ForumPosts:
    """A story's post in a forum: made once, tagged with the story's status, unarchived."""

    def __init__(self, sink: Requests) -> None:
        self.sink = sink
        self.unreadable: set[int] = set()  # forums whose archived posts Bulletin may not list

    async def _request(self, route: Route, **kwargs: Any) -> Any:
        await self.sink.limiter.acquire()
        return await self.sink.client.http.request(route, **kwargs)

    async def forum(self, forum_id: int) -> tuple[StatusTags, bool]:
        """The forum's status tags, and whether it requires a tag on every post."""
        forum = await self._request(Route("GET", "/channels/{channel_id}", channel_id=forum_id))
        required = bool(int(forum.get("flags") or 0) & REQUIRE_TAG)
        return status_tags(forum.get("available_tags") or []), required

    async def start(
        self,
        sub: SubscriptionRecord,
        row: Delivery,
        payload: Payload,
        status: StoryStatus,
    ) -> Sent | Retry | Paused:
        """The story's post in the forum, with PAYLOAD (its key points) as first message: the
        one made before when an earlier attempt may have made it, else a new one."""
        assert sub.channel_id is not None and row.guild_id is not None
        title = post_title(row.story_name or "")
        if intent_recorded(row):
            found = await self.existing(row.guild_id, sub.channel_id, title)
            if found is not None:
                log.info(
                    "guild %s: subscription %s: post %s found in forum %s, made before",
                    row.guild_id,
                    sub.id,
                    found,
                    sub.channel_id,
                )
                return Sent(found, found, effects=(ThreadStarted(found, found),))
        tags, required = await self.forum(sub.channel_id)
        tag = tags.for_new_post(status, required=required)
        body: dict[str, Any] = {
            "name": title,
            "auto_archive_duration": POST_ARCHIVE_MINUTES,
            "message": post_message(payload),
        }
        if tag is not None:
            body["applied_tags"] = [str(tag)]
        route = Route("POST", "/channels/{channel_id}/threads", channel_id=sub.channel_id)
        try:
            thread = await self._request(route, json=body, raise_for_status=tried_once)
        except AnswerLost as error:
            return Retry(FailureReason.DISCORD_ERROR, f"creating the post: {error}")
        except discord.HTTPException as error:
            if error.code != TAG_REQUIRED:
                raise
            # the forum's tags changed since /subscribe: moderators are told what to do
            said = f"Discord said {error.status} {error.code}: {error.text}"
            return Paused(PauseReason.TAG_REQUIRED, said)
        post_id = int(thread["id"])  # its first message has the post's id
        log.info(
            "guild %s: subscription %s: post %s in forum %s",
            row.guild_id,
            sub.id,
            post_id,
            sub.channel_id,
        )
        return Sent(post_id, post_id, effects=(ThreadStarted(post_id, post_id),))

    async def existing(self, guild_id: int, forum_id: int, title: str) -> int | None:
        """The post of this title Bulletin made in the forum before (None: none found): among
        the server's active threads, else among the forum's most recently archived posts."""
        assert self.sink.client.user is not None, "logged in"
        owner_id = self.sink.client.user.id
        route = Route("GET", "/guilds/{guild_id}/threads/active", guild_id=guild_id)
        active = await self._request(route)
        threads = active.get("threads") or []
        found = find_post(threads, forum_id=forum_id, owner_id=owner_id, title=title)
        if found is not None:
            return found
        return await self.archived(guild_id, forum_id, owner_id, title)

    async def archived(self, guild_id: int, forum_id: int, owner_id: int, title: str) -> int | None:
        """The post among the forum's ARCHIVED_PAGES pages of most recently archived posts
        (None: not there, or Bulletin lacks Read Message History, which is logged once)."""
        route = Route("GET", "/channels/{channel_id}/threads/archived/public", channel_id=forum_id)
        params: dict[str, str | int] = {"limit": ARCHIVED_PAGE_SIZE}
        for _ in range(ARCHIVED_PAGES):
            try:
                page = await self._request(route, params=params)
            except discord.Forbidden as error:
                if forum_id not in self.unreadable:
                    self.unreadable.add(forum_id)
                    log.warning(
                        "guild %s: forum %s: Bulletin may not read its archived posts (%s %s: "
                        "%s; it needs Read Message History), so a post made before a restart "
                        "and archived since is not found: a new one is made",
                        guild_id,
                        forum_id,
                        error.status,
                        error.code,
                        error.text,
                    )
                return None
            threads = page.get("threads") or []
            found = find_post(threads, forum_id=forum_id, owner_id=owner_id, title=title)
            if found is not None or not page.get("has_more") or not threads:
                return found
            last = threads[-1].get("thread_metadata") or {}
            if not last.get("archive_timestamp"):
                return None
            params["before"] = str(last["archive_timestamp"])
        return None

    async def show_status(self, sub: SubscriptionRecord, status: StoryStatus) -> None:
        """Move the post's status tag to STATUS (when the forum has one). A refusal is
        logged, never a failed delivery: the tag is a label, the message went out."""
        if sub.thread_id is None or sub.channel_id is None:
            return
        try:
            tags, _ = await self.forum(sub.channel_id)
            route = Route("GET", "/channels/{channel_id}", channel_id=sub.thread_id)
            post = await self._request(route)
            current = [int(tag) for tag in post.get("applied_tags") or []]
            wanted = retagged(current, tags, status)
            if wanted is None:
                return
            body: dict[str, Any] = {"applied_tags": [str(tag) for tag in wanted]}
            if (post.get("thread_metadata") or {}).get("archived"):
                body["archived"] = False  # an archived post takes no other change
            patch = Route("PATCH", "/channels/{channel_id}", channel_id=sub.thread_id)
            await self._request(patch, json=body)
        except discord.HTTPException as error:
            log.warning(
                "guild %s: post %s: its tags could not be set to %s (%s %s: %s)",
                sub.guild_id,
                sub.thread_id,
                status.value,
                error.status,
                error.code,
                error.text,
            )

    async def unarchive(self, thread_id: int) -> bool:
        """Open an archived thread again, unless a moderator locked it; True when it is open."""
        thread = await self._request(Route("GET", "/channels/{channel_id}", channel_id=thread_id))
        metadata = thread.get("thread_metadata") or {}
        if metadata.get("locked"):
            return False
        if metadata.get("archived"):
            route = Route("PATCH", "/channels/{channel_id}", channel_id=thread_id)
            await self._request(route, json={"archived": False})
        return True
