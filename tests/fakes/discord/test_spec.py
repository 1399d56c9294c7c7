"""The fake's reading of Discord's API specification refuses what Discord would refuse."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.fakes.discord import FakeDiscord, Guild
from tests.fakes.discord.spec import ENDPOINTS, QUERIES, check, check_query

MESSAGES = "/channels/{channel_id}/messages"


def message(**fields: Any) -> dict[str, Any]:
    return {"content": "hello", "allowed_mentions": {"parse": []}, **fields}


def test_a_message_as_bulletin_sends_it_passes() -> None:
    embed = {"title": "t" * 256, "description": "d" * 4096, "footer": {"text": "f" * 1000}}
    body = message(embeds=[embed], nonce="abc", enforce_nonce=True)
    body["allowed_mentions"]["roles"] = ["1234567890123"]
    assert check("POST", MESSAGES, body) is None


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (message(allowed_mentions={"parse": [], "roles": [1234567890123]}), "allowed_mentions"),
        (message(content="x" * 2001), "content"),
        (message(embeds=[{"title": "t" * 257}]), "embeds"),
        (message(embeds=[{"description": "d" * 4097}]), "embeds"),
        (message(embeds=[{"fields": [{"name": "n", "value": "v"}] * 26}]), "embeds"),
        (message(embeds=[{"fields": [{"name": "n" * 257, "value": "v"}]}]), "embeds"),
        (message(embeds=[{"fields": [{"name": "n", "value": "v" * 1025}]}]), "embeds"),
        (message(embeds=[{"fields": [{"name": "n"}]}]), "embeds"),
        (message(embeds=[{"author": {"name": "a" * 257}}]), "embeds"),
        (message(embeds=[{"footer": {"text": "f" * 2049}}]), "embeds"),
        (message(embeds=[{"description": "d" * 3000}, {"description": "d" * 3001}]), "embeds"),
        (message(embeds=[{"title": "t"}] * 11), "embeds"),
        (message(nonce="n" * 26), "nonce"),
        ({"allowed_mentions": {"parse": []}}, "content"),
        (message(attachments=[{"id": 0}]), "attachments"),
    ],
    ids=[
        "numeric-role",
        "content-2001",
        "embed-title-257",
        "description-4097",
        "fields-26",
        "field-name-257",
        "field-value-1025",
        "field-without-value",
        "author-257",
        "footer-2049",
        "embeds-over-6000",
        "embeds-11",
        "nonce-26",
        "empty",
        "numeric-attachment-id",
    ],
)
def test_a_message_breaking_the_spec_is_refused_where_it_breaks(
    body: dict[str, Any], where: str
) -> None:
    errors = check("POST", MESSAGES, body)
    assert errors is not None and where in errors


def command(**fields: Any) -> dict[str, Any]:
    return {"name": "latest", "description": "The latest updates", "type": 1, **fields}


def option(**fields: Any) -> dict[str, Any]:
    return {"type": 3, "name": "story", "description": "Which story", **fields}


@pytest.mark.parametrize(
    ("commands", "refused"),
    [
        ([command(default_member_permissions="16", options=[option(autocomplete=True)])], False),
        ([command(name="Latest")], True),
        ([command(name="l" * 33)], True),
        ([command(description="d" * 101)], True),
        ([command(options=[option(description="")])], True),
        ([command(options=[option(name="with space")])], True),
        ([command(options=[option()] * 26)], True),
        ([command(options=[option(choices=[{"name": "c", "value": "v"}] * 26)])], True),
        ([command(default_member_permissions="manage")], True),
        ([command(options=[{"type": 1, "name": "add", "description": "", "options": []}])], True),
    ],
    ids=[
        "fine",
        "upper-case-name",
        "name-33",
        "description-101",
        "empty-option-description",
        "option-name-with-space",
        "options-26",
        "choices-26",
        "permissions-not-digits",
        "subcommand-without-description",
    ],
)
def test_command_registrations_keep_discords_limits(
    commands: list[dict[str, Any]], refused: bool
) -> None:
    route = "/applications/{app_id}/guilds/{guild_id}/commands"
    assert (check("PUT", route, commands) is not None) is refused


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        ({"type": 4, "data": {"content": "hi", "flags": 64}}, False),
        ({"type": 8, "data": {"choices": [{"name": "a", "value": "a"}]}}, False),
        ({"type": 4, "data": {"content": "x" * 2001}}, True),
        ({"type": 8, "data": {"choices": [{"name": "", "value": "a"}]}}, True),
        ({"data": {"content": "hi"}}, True),
    ],
    ids=["reply", "choices", "reply-2001", "empty-choice-name", "no-type"],
)
def test_interaction_callbacks_are_checked(body: dict[str, Any], refused: bool) -> None:
    route = "/interactions/{interaction_id}/{token}/callback"
    assert (check("POST", route, body) is not None) is refused


def test_a_thread_name_and_archive_duration_are_checked() -> None:
    route = "/channels/{channel_id}/messages/{message_id}/threads"
    assert check("POST", route, {"name": "Story", "auto_archive_duration": 10080}) is None
    assert check("POST", route, {"name": "Story", "auto_archive_duration": 100}) is not None
    assert check("POST", route, {"name": "s" * 101}) is not None
    assert check("POST", route, {}) is not None


def test_a_forum_post_carries_its_first_message_and_at_most_five_tags() -> None:
    route = "/channels/{channel_id}/threads"
    post = {"name": "Mars", "message": {"content": "Key points"}, "applied_tags": ["12"]}
    assert check("POST", route, post) is None
    assert check("POST", route, {**post, "applied_tags": [12]}) is not None
    assert check("POST", route, {**post, "applied_tags": ["1"] * 6}) is not None
    assert check("POST", route, {**post, "message": {"content": "x" * 2001}}) is not None
    assert check("POST", route, {**post, "message": {}}) is not None  # an empty first message
    assert check("POST", route, {"name": "Thread", "type": 11}) is None


def test_a_posts_tags_and_archived_state_are_checked_when_changed() -> None:
    route = "/channels/{channel_id}"
    assert check("PATCH", route, {"applied_tags": ["12", "13"], "archived": False}) is None
    assert check("PATCH", route, {"applied_tags": [12]}) is not None  # a number, not digits
    assert check("PATCH", route, {"applied_tags": ["1"] * 6}) is not None
    assert check("PATCH", route, {"archived": "no"}) is not None


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ({}, False),
        ({"limit": "50", "before": "2026-12-06T17:30:00.123456+00:00"}, False),
        ({"limit": "1"}, False),
        ({"limit": "100"}, False),
        ({"limit": "0"}, True),
        ({"limit": "101"}, True),
        ({"limit": "5.5"}, True),
        ({"before": "1 hour ago"}, True),
    ],
    ids=["none", "both", "limit-1", "limit-100", "limit-0", "limit-101", "limit-float", "before"],
)
def test_an_archived_threads_query_keeps_discords_limits(
    query: dict[str, str], refused: bool
) -> None:
    route = "/channels/{channel_id}/threads/archived/public"
    assert (check_query("GET", route, query) is not None) is refused


def test_every_route_in_the_table_is_one_the_fake_serves(discord_server: FakeDiscord) -> None:
    assert discord_server.port  # started: its routes are registered
    served = {
        (route.method, route.resource.canonical[len("/api/v10") :])
        for route in discord_server.app_routes()
        if route.resource is not None
    }
    assert set(ENDPOINTS) | set(QUERIES) <= served


async def test_the_server_answers_a_violation_with_discords_error_and_keeps_it(
    discord_server: FakeDiscord, guild: Guild
) -> None:
    discord_server.violations_expected = True
    url = f"{discord_server.api_base}/channels/{guild.system_channel_id}/messages"
    headers = {"Authorization": f"Bot {discord_server.token}"}
    body = message(allowed_mentions={"parse": [], "roles": [42]})
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as response,
    ):
        assert response.status == 400
        answer = await response.json()
    assert answer["code"] == 50035 and answer["message"] == "Invalid Form Body"
    assert "roles" in answer["errors"]["allowed_mentions"]
    [violation] = discord_server.violations
    assert violation.method == "POST" and violation.body == body
    assert discord_server.messages_in(guild.system_channel_id) == []
