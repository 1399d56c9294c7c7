"""The fake Discord's forum channels alone (raw HTTP): posts, tags, thread changes, renames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord import FakeDiscord, Perm, RateLimits

V, S, E = Perm.VIEW_CHANNEL, Perm.SEND_MESSAGES, Perm.EMBED_LINKS
IN_THREADS = Perm.SEND_MESSAGES_IN_THREADS
HISTORY = Perm.READ_MESSAGE_HISTORY
NOW = datetime.now(UTC)


@pytest.fixture
async def raw():
    server = FakeDiscord(limits=RateLimits(global_per_second=1000, message_create=(50, 1.0)))
    await server.start()
    guild = server.add_guild("G", everyone=0, bot_permissions=V | S | E | IN_THREADS)
    headers = {"Authorization": f"Bot {server.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        yield server, guild, http
    await server.close()


def post_body(**extra: Any) -> dict[str, Any]:
    return {"name": "Election night", "message": {"content": "Key points"}, **extra}


async def create(server, http, forum, body) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{server.api_base}/channels/{forum.id}/threads", json=body) as r:
        return r.status, await r.json()


async def patch(server, http, channel_id: int, body) -> tuple[int, dict[str, Any]]:
    async with http.patch(f"{server.api_base}/channels/{channel_id}", json=body) as r:
        return r.status, await r.json()


async def test_a_post_is_a_thread_whose_first_message_has_its_id(raw):
    server, guild, http = raw
    forum = server.forums.add(guild, "live", tags=("Live", "Ended"))
    live = forum.available_tags[0]["id"]
    status, thread = await create(server, http, forum, post_body(applied_tags=[live]))
    assert status == 201
    assert (thread["type"], thread["parent_id"], thread["applied_tags"]) == (
        11,
        str(forum.id),
        [live],
    )
    assert thread["message"]["id"] == thread["id"] == thread["message"]["channel_id"]
    (post,) = server.forums.posts(forum)
    assert server.forums.tag_names(post) == ["Live"]
    assert [m["content"] for m in server.messages_in(post)] == ["Key points"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (post_body(), 40067),  # the forum requires a tag
        (post_body(applied_tags=["123"]), 50035),  # not one of its tags
        (post_body(applied_tags=[1]), 50035),  # a number, not a snowflake string
        (post_body(name=""), 50035),
        (post_body(message={}), 50035),
        (post_body(nonce="1"), 50035),  # a post takes no nonce
    ],
)
async def test_bad_posts_are_refused(raw, body, code):
    server, guild, http = raw
    forum = server.forums.add(guild, "live", tags=("Breaking",), require_tag=True)
    status, answer = await create(server, http, forum, body)
    assert (status, answer["code"]) == (400, code)
    assert server.forums.posts(forum) == []


async def test_posting_needs_send_messages_and_a_forum_takes_no_plain_message(raw):
    server, guild, http = raw
    forum = server.forums.add(guild, "live")
    async with http.post(
        f"{server.api_base}/channels/{forum.id}/messages", json={"content": "x"}
    ) as r:
        assert (r.status, (await r.json())["code"]) == (400, 50008)
    await server.set_overwrite(forum, server.bot_role(guild), deny=S)
    status, answer = await create(server, http, forum, post_body())
    assert (status, answer["code"]) == (403, 50013)


async def test_an_archived_post_takes_only_unarchiving_and_a_locked_one_nothing(raw):
    server, guild, http = raw
    forum = server.forums.add(guild, "live", tags=("Live", "Ended"))
    _, thread = await create(server, http, forum, post_body())
    post = server.channels[int(thread["id"])]
    ended = forum.available_tags[1]["id"]
    await server.archive_thread(post)
    status, answer = await patch(server, http, post.id, {"applied_tags": [ended]})
    assert (status, answer["code"]) == (400, 50083)
    edit_url = f"{server.api_base}/channels/{post.id}/messages/{post.id}"
    async with http.patch(edit_url, json={"content": "new"}) as r:
        assert (r.status, (await r.json())["code"]) == (400, 50083)
    status, answer = await patch(
        server, http, post.id, {"archived": False, "applied_tags": [ended]}
    )
    assert status == 200 and answer["applied_tags"] == [ended] and not post.archived
    await server.archive_thread(post, locked=True)
    status, answer = await patch(server, http, post.id, {"archived": False})
    assert (status, answer["code"]) == (403, 50013)


async def test_moderated_tags_and_locking_need_manage_threads(raw):
    server, guild, http = raw
    forum = server.forums.add(guild, "live")
    forum.available_tags[:] = [{"id": "77", "name": "Staff", "moderated": True}]
    _, thread = await create(server, http, forum, post_body())
    status, _ = await patch(server, http, int(thread["id"]), {"applied_tags": ["77"]})
    assert status == 403
    status, _ = await patch(server, http, int(thread["id"]), {"locked": True})
    assert status == 403


async def test_active_threads_list_the_posts_with_their_owner_and_tags(raw):
    server, guild, http = raw
    forum = server.forums.add(guild, "live", tags=("Live",))
    live = forum.available_tags[0]["id"]
    _, thread = await create(server, http, forum, post_body(applied_tags=[live]))
    async with http.get(f"{server.api_base}/guilds/{guild.id}/threads/active") as r:
        (listed,) = (await r.json())["threads"]
    assert (listed["id"], listed["owner_id"], listed["name"], listed["applied_tags"]) == (
        thread["id"],
        str(server.bot_user.id),
        "Election night",
        [live],
    )
    await server.delete_channel(server.channels[int(thread["id"])])
    async with http.get(f"{server.api_base}/guilds/{guild.id}/threads/active") as r:
        assert (await r.json())["threads"] == []


async def test_a_forum_channel_payload_carries_its_tags_and_flags(raw):
    server, guild, http = raw
    forum = server.forums.add(guild, "live", tags=("Live",), require_tag=True)
    async with http.get(f"{server.api_base}/channels/{forum.id}") as r:
        data = await r.json()
    assert (data["type"], data["flags"], [t["name"] for t in data["available_tags"]]) == (
        15,
        16,
        ["Live"],
    )


async def test_deleting_a_post_needs_manage_threads_and_takes_its_messages_out_of_sight(raw):
    server, guild, http = raw
    forum = server.forums.add(guild, "live")
    _, thread = await create(server, http, forum, post_body())
    url = f"{server.api_base}/channels/{thread['id']}"
    async with http.delete(url) as r:
        assert (r.status, (await r.json())["code"]) == (403, 50013)
    await server.set_role_permissions(guild, server.bot_role(guild), Perm.ALL)
    async with http.delete(url) as r:
        assert r.status == 200
    assert server.forums.posts(forum) == []
    async with http.post(url + "/messages", json={"content": "x"}) as r:
        assert (r.status, (await r.json())["code"]) == (404, 10003)


async def archived(server, http, channel_id: int, **query: Any) -> tuple[int, dict[str, Any]]:
    url = f"{server.api_base}/channels/{channel_id}/threads/archived/public"
    async with http.get(url, params={k: str(v) for k, v in query.items()}) as r:
        return r.status, await r.json()


def ids(page: dict[str, Any]) -> list[int]:
    return [int(thread["id"]) for thread in page["threads"]]


async def test_archived_public_threads_are_the_channels_archived_ones_newest_first(raw):
    server, guild, http = raw
    await server.set_role_permissions(guild, server.bot_role(guild), V | S | E | HISTORY)
    forum = server.forums.add(guild, "live")
    other = server.forums.add(guild, "sport")
    older = server.forums.add_post(forum, "A", archived_at=NOW - timedelta(hours=3))
    newer = server.forums.add_post(forum, "B", archived_at=NOW - timedelta(hours=1), by_bot=False)
    server.forums.add_post(forum, "C")  # open: not listed
    server.forums.add_post(other, "D", archived_at=NOW - timedelta(hours=2))  # another forum's
    status, page = await archived(server, http, forum.id)
    assert status == 200
    assert (ids(page), page["has_more"], page["members"]) == ([newer.id, older.id], False, [])
    stamps = [
        datetime.fromisoformat(t["thread_metadata"]["archive_timestamp"]) for t in page["threads"]
    ]
    assert stamps == [NOW - timedelta(hours=1), NOW - timedelta(hours=3)]
    assert all(t["thread_metadata"]["archived"] for t in page["threads"])


async def test_a_private_thread_is_not_a_public_archived_one(raw):
    server, guild, http = raw
    await server.set_role_permissions(guild, server.bot_role(guild), Perm.ALL)
    text = guild.channels[guild.system_channel_id or 0]
    url = f"{server.api_base}/channels/{text.id}/threads"
    made = []
    for kind in (11, 12):
        async with http.post(url, json={"name": f"type {kind}", "type": kind}) as r:
            made.append(server.channels[int((await r.json())["id"])])
    for thread in made:
        await server.archive_thread(thread)
    status, page = await archived(server, http, text.id)
    assert (status, ids(page)) == (200, [made[0].id])


async def test_before_and_limit_page_through_them_with_has_more(raw):
    server, guild, http = raw
    await server.set_role_permissions(guild, server.bot_role(guild), V | S | HISTORY)
    forum = server.forums.add(guild, "live")
    posts = [
        server.forums.add_post(forum, f"P{n}", archived_at=NOW - timedelta(minutes=n))
        for n in range(1, 56)
    ]  # posts[0] archived last
    status, page = await archived(server, http, forum.id)
    assert (status, ids(page), page["has_more"]) == (200, [p.id for p in posts[:50]], True)
    status, page = await archived(server, http, forum.id, limit=2)
    assert (ids(page), page["has_more"]) == ([posts[0].id, posts[1].id], True)
    before = page["threads"][-1]["thread_metadata"]["archive_timestamp"]
    status, page = await archived(server, http, forum.id, limit=100, before=before)
    assert (ids(page), page["has_more"]) == ([p.id for p in posts[2:]], False)
    status, page = await archived(server, http, forum.id, before=NOW - timedelta(minutes=55))
    assert (ids(page), page["has_more"]) == ([], False)


async def test_a_threads_archive_timestamp_moves_when_it_is_archived_or_reopened(raw):
    server, guild, http = raw
    forum = server.forums.add(guild, "live")
    _, thread = await create(server, http, forum, post_body(auto_archive_duration=10080))
    metadata = thread["thread_metadata"]
    assert (metadata["archived"], metadata["auto_archive_duration"]) == (False, 10080)
    post = server.channels[int(thread["id"])]
    await server.archive_thread(post, at=NOW + timedelta(days=7))
    assert post.payload()["thread_metadata"]["archive_timestamp"] == (
        (NOW + timedelta(days=7)).isoformat()
    )
    _, answer = await patch(server, http, post.id, {"archived": False})
    reopened = datetime.fromisoformat(answer["thread_metadata"]["archive_timestamp"])
    assert not answer["thread_metadata"]["archived"]
    assert reopened < NOW + timedelta(days=1)  # the moment it was reopened


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"before": "yesterday"}, "before"),
    ],
    ids=["limit-0", "limit-101", "limit-not-a-number", "before-not-a-timestamp"],
)
async def test_a_query_outside_the_spec_is_refused(raw, query, where):
    server, guild, http = raw
    server.violations_expected = True
    forum = server.forums.add(guild, "live")
    status, answer = await archived(server, http, forum.id, **query)
    assert (status, answer["code"]) == (400, 50035) and where in answer["errors"]
    (violation,) = server.violations
    assert violation.body == {k: str(v) for k, v in query.items()}


@pytest.mark.parametrize(
    ("denied", "code"), [(HISTORY, 50013), (V, 50001)], ids=["no-history", "no-view"]
)
async def test_listing_archived_threads_needs_read_message_history(raw, denied, code):
    server, guild, http = raw
    await server.set_role_permissions(guild, server.bot_role(guild), V | S | HISTORY)
    forum = server.forums.add(guild, "live")
    server.forums.add_post(forum, "A", archived_at=NOW)
    await server.set_overwrite(forum, server.bot_role(guild), deny=denied)
    status, answer = await archived(server, http, forum.id)
    assert (status, answer["code"]) == (403, code)


async def test_a_thread_has_no_archived_threads_of_its_own(raw):
    server, guild, http = raw
    await server.set_role_permissions(guild, server.bot_role(guild), V | S | HISTORY)
    forum = server.forums.add(guild, "live")
    post = server.forums.add_post(forum, "A")
    status, answer = await archived(server, http, post.id)
    assert (status, answer["code"]) == (400, 50024)
