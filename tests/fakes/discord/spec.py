"""What Discord's published API specification (discord/discord-api-spec, specs/openapi.json)
and its documented limits say of each request body Bulletin sends, written down compactly.

`ENDPOINTS` maps (method, route) to a `Node` describing the body; `check(method, route, body)`
returns Discord's `errors` tree for a body that breaks it (None when it is fine). The fake
server runs it on every request it routes, answers 400 with Discord's error shape and keeps the
violation, so a test that makes Bulletin send something Discord would refuse fails loudly.

The spec's own schemas are not copied here: each node names only what Bulletin's requests can
carry (types, required fields, snowflakes as strings of digits, lengths). Fields a node does not
name pass, as Discord ignores them. Adding an endpoint is one entry in `ENDPOINTS`; a GET's
query string is described the same way in `QUERIES` (`check_query`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .limits import CONTENT_MAX, EMBED_TOTAL_MAX, embed_chars

Errors = dict[str, Any]

SNOWFLAKE = re.compile(r"0|[1-9][0-9]*")
COMMAND_NAME = re.compile(r"[-_'\w]{1,32}")  # Discord's CHAT_INPUT name rule, lower case


def _say(code: str, message: str) -> Errors:
    return {"_errors": [{"code": code, "message": message}]}


class Node:
    """One value's description: `errors(value)` is Discord's tree for a bad value, or None."""

    def errors(self, value: Any) -> Errors | None:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Node):
    max: int
    min: int = 0
    pattern: re.Pattern[str] | None = None
    lower: bool = False  # a command's or option's name has no upper case letter

    def errors(self, value: Any) -> Errors | None:
        if not isinstance(value, str):
            return _say("STRING_TYPE_CONVERT", "Could not interpret value as string.")
        if not self.min <= len(value) <= self.max:
            return _say(
                "BASE_TYPE_BAD_LENGTH", f"Must be between {self.min} and {self.max} in length."
            )
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return _say("STRING_TYPE_REGEX", f"String value did not match {self.pattern.pattern}")
        if self.lower and value != value.lower():
            return _say("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        return None


@dataclass(frozen=True)
class Integer(Node):
    lo: int = -(2**63)
    hi: int = 2**63 - 1
    allowed: frozenset[int] | None = None

    def errors(self, value: Any) -> Errors | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return _say("NUMBER_TYPE_COERCE", f"Value {value!r} is not int.")
        if self.allowed is not None and value not in self.allowed:
            return _say("BASE_TYPE_CHOICES", f"Value must be one of {sorted(self.allowed)}.")
        if not self.lo <= value <= self.hi:
            return _say("NUMBER_TYPE_MAX", f"Value must be between {self.lo} and {self.hi}.")
        return None


@dataclass(frozen=True)
class Boolean(Node):
    def errors(self, value: Any) -> Errors | None:
        if not isinstance(value, bool):
            return _say("BOOLEAN_TYPE_CONVERT", "Must be either true or false.")
        return None


@dataclass(frozen=True)
class Snowflake(Node):
    """An id: a string of digits (the spec's SnowflakeType), never a JSON number."""

    def errors(self, value: Any) -> Errors | None:
        if not isinstance(value, str) or SNOWFLAKE.fullmatch(value) is None:
            return _say("NUMBER_TYPE_COERCE", f"Value {value!r} is not snowflake.")
        return None


@dataclass(frozen=True)
class QueryInteger(Node):
    """An integer in a query string (digits, as every query value is a string)."""

    lo: int
    hi: int

    def errors(self, value: Any) -> Errors | None:
        if not isinstance(value, str) or not re.fullmatch(r"-?[0-9]+", value):
            return _say("NUMBER_TYPE_COERCE", f"Value {value!r} is not int.")
        return Integer(self.lo, self.hi).errors(int(value))


@dataclass(frozen=True)
class Timestamp(Node):
    """An ISO8601 date and time (the spec's date-time format)."""

    def errors(self, value: Any) -> Errors | None:
        try:
            datetime.fromisoformat(value)
        except (TypeError, ValueError):
            # the code is the fake's wording: Discord's own was not checked
            return _say("DATE_TIME_TYPE_PARSE", f"Value {value!r} is not an ISO8601 timestamp.")
        return None


@dataclass(frozen=True)
class Nullable(Node):
    inner: Node

    def errors(self, value: Any) -> Errors | None:
        return None if value is None else self.inner.errors(value)


@dataclass(frozen=True)
class Rule(Node):
    """A value checked by a function (a rule the other nodes cannot say)."""

    check: Callable[[Any], Errors | None] = field(default=lambda _value: None)

    def errors(self, value: Any) -> Errors | None:
        return self.check(value)


@dataclass(frozen=True)
class AnyOf(Node):
    """One of several shapes (the spec's oneOf/anyOf): the first that fits; else the errors
    of the shape picked by `pick` (e.g. by an interaction callback's type)."""

    choices: tuple[Node, ...]
    pick: Callable[[Any], int] = lambda _value: 0

    def errors(self, value: Any) -> Errors | None:
        found = [choice.errors(value) for choice in self.choices]
        if any(problem is None for problem in found):
            return None
        return found[min(self.pick(value), len(found) - 1)]


@dataclass(frozen=True)
class Array(Node):
    item: Node
    max: int
    min: int = 0
    unique: bool = False

    def errors(self, value: Any) -> Errors | None:
        if not isinstance(value, list):
            return _say("LIST_TYPE_CONVERT", "Must be an array.")
        if not self.min <= len(value) <= self.max:
            return _say(
                "BASE_TYPE_BAD_LENGTH", f"Must be between {self.min} and {self.max} in length."
            )
        if self.unique and len({repr(v) for v in value}) != len(value):
            return _say("SET_TYPE_ALREADY_CONTAINS_VALUE", "The items must be unique.")
        found = {str(i): e for i, v in enumerate(value) if (e := self.item.errors(v)) is not None}
        return found or None


@dataclass(frozen=True)
class Obj(Node):
    """An object: its named fields (optional unless `required`), and a whole-object rule."""

    fields: Mapping[str, Node]
    required: frozenset[str] = frozenset()
    rule: Callable[[dict[str, Any]], Errors | None] | None = None

    def errors(self, value: Any) -> Errors | None:
        if not isinstance(value, dict):
            return _say("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType.")
        found: Errors = {}
        for name in sorted(self.required - value.keys()):
            found[name] = _say("BASE_TYPE_REQUIRED", "This field is required")
        for name, node in self.fields.items():
            if name in value and (problem := node.errors(value[name])) is not None:
                found[name] = problem
        if not found and self.rule is not None and (problem := self.rule(value)) is not None:
            found.update(problem)
        return found or None


def obj(required: tuple[str, ...] = (), rule: Any = None, **fields: Node) -> Obj:
    return Obj(fields, frozenset(required), rule)


def n(node: Node) -> Nullable:
    return Nullable(node)


# --- messages ---------------------------------------------------------------------------------

URL = Text(2048)
EMBED = obj(
    title=n(Text(256)),
    description=n(Text(4096)),
    url=n(URL),
    timestamp=n(Text(40)),
    color=n(Integer(0, 0xFFFFFF)),
    footer=n(obj(text=n(Text(2048)), icon_url=n(URL))),
    author=n(obj(name=n(Text(256)), url=n(URL), icon_url=n(URL))),
    image=n(obj(url=n(URL))),
    thumbnail=n(obj(url=n(URL))),
    fields=n(
        Array(obj(("name", "value"), name=Text(256), value=Text(1024), inline=n(Boolean())), 25)
    ),
    type=n(Text(64)),
)
ALLOWED_MENTIONS = obj(
    parse=n(Array(Text(8), 3, unique=True)),
    users=n(Array(Snowflake(), 100, unique=True)),
    roles=n(Array(Snowflake(), 100, unique=True)),
    replied_user=n(Boolean()),
)
ATTACHMENT = obj(("id",), id=Snowflake(), filename=n(Text(1024, 1)), description=n(Text(1024)))
BUTTON = obj(
    ("type", "style"),
    type=Integer(allowed=frozenset({2})),
    style=Integer(1, 6),
    custom_id=n(Text(100, 1)),
    label=n(Text(80)),
    url=n(Text(512)),
    disabled=n(Boolean()),
)
ACTION_ROW = obj(
    ("type", "components"), type=Integer(allowed=frozenset({1})), components=Array(BUTTON, 5, 1)
)


def _message_rule(body: dict[str, Any]) -> Errors | None:
    """The limits of Discord's documentation that a schema cannot say: 6,000 characters over
    all embeds, and a message must hold something."""
    embeds = body.get("embeds") or []
    if sum(embed_chars(e) for e in embeds) > EMBED_TOTAL_MAX:
        return {"embeds": _say("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size")}
    return None


def _create_rule(body: dict[str, Any]) -> Errors | None:
    if not (body.get("content") or body.get("embeds") or body.get("attachments")):
        return {"content": _say("BASE_TYPE_REQUIRED", "Cannot send an empty message")}
    return _message_rule(body)


MESSAGE_FIELDS: dict[str, Node] = {
    "content": n(Text(CONTENT_MAX)),
    "embeds": n(Array(EMBED, 10)),
    "allowed_mentions": n(ALLOWED_MENTIONS),
    "components": n(Array(ACTION_ROW, 5)),
    "attachments": n(Array(ATTACHMENT, 10)),
    "flags": n(Integer()),
}
MESSAGE_CREATE = Obj(
    {
        **MESSAGE_FIELDS,
        "nonce": n(AnyOf((Integer(), Text(25)))),
        "enforce_nonce": n(Boolean()),
        "tts": n(Boolean()),
        "sticker_ids": n(Array(Snowflake(), 3)),
        "message_reference": n(obj(message_id=n(Snowflake()), channel_id=n(Snowflake()))),
    },
    rule=_create_rule,
)
MESSAGE_EDIT = Obj(MESSAGE_FIELDS, rule=_message_rule)

# --- threads ----------------------------------------------------------------------------------

ARCHIVE_DURATION = Integer(allowed=frozenset({60, 1440, 4320, 10080}))
THREAD_FROM_MESSAGE = obj(
    ("name",),
    name=Text(100, 1),
    auto_archive_duration=n(ARCHIVE_DURATION),
    rate_limit_per_user=n(Integer(0, 21600)),
)
THREAD_WITHOUT_MESSAGE = obj(
    ("name",),
    name=Text(100, 1),
    auto_archive_duration=n(ARCHIVE_DURATION),
    rate_limit_per_user=n(Integer(0, 21600)),
    type=n(Integer(allowed=frozenset({10, 11, 12}))),
    invitable=n(Boolean()),
)

FORUM_POST = obj(
    ("name", "message"),
    name=Text(100, 1),
    auto_archive_duration=n(ARCHIVE_DURATION),
    rate_limit_per_user=n(Integer(0, 21600)),
    applied_tags=n(Array(Snowflake(), 5)),
    message=Obj(MESSAGE_FIELDS, rule=_create_rule),
)
# PATCH /channels/{id} on a thread (Bulletin moves a forum post's tags, reopens an archived one)
THREAD_MODIFY = obj(
    name=n(Text(100, 1)),
    archived=n(Boolean()),
    locked=n(Boolean()),
    auto_archive_duration=n(ARCHIVE_DURATION),
    applied_tags=n(Array(Snowflake(), 5)),
)
# a forum's post carries its first message; a text channel's thread has none
THREAD = Rule(
    lambda body: (
        FORUM_POST if isinstance(body, dict) and "message" in body else THREAD_WITHOUT_MESSAGE
    ).errors(body)
)

# --- interactions -----------------------------------------------------------------------------

CHOICE = obj(
    ("name", "value"), name=Text(100, 1), value=AnyOf((Text(6000), Integer(-(2**53), 2**53)))
)
AUTOCOMPLETE = obj(
    ("type", "data"),
    type=Integer(allowed=frozenset({8})),
    data=obj(choices=n(Array(CHOICE, 25))),
)
REPLY = obj(
    ("type",),
    type=Integer(allowed=frozenset({4, 5, 6, 7})),
    data=n(Obj(MESSAGE_FIELDS, rule=_message_rule)),
)
CALLBACK = AnyOf((REPLY, AUTOCOMPLETE), pick=lambda body: int(body.get("type") == 8))
WEBHOOK_MESSAGE = Obj({**MESSAGE_FIELDS, "tts": n(Boolean())}, rule=_create_rule)
WEBHOOK_EDIT = Obj(MESSAGE_FIELDS, rule=_message_rule)

# --- application commands ---------------------------------------------------------------------

NAME = Text(32, 1, COMMAND_NAME, lower=True)

OPTION_COMMON: dict[str, Node] = {
    "name": NAME,
    "description": Text(100, 1),
    "required": n(Boolean()),
}
LEAF_OPTION = Obj(
    {
        **OPTION_COMMON,
        "type": Integer(allowed=frozenset({3, 4, 5, 6, 7, 8, 9, 10, 11})),
        "autocomplete": n(Boolean()),
        "choices": n(Array(CHOICE, 25)),
        "channel_types": n(Array(Integer(0, 16), 16, unique=True)),
        "min_value": n(AnyOf((Integer(-(2**53), 2**53),))),
        "max_value": n(AnyOf((Integer(-(2**53), 2**53),))),
        "min_length": n(Integer(0, 6000)),
        "max_length": n(Integer(1, 6000)),
    },
    frozenset({"type", "name", "description"}),
)
SUBCOMMAND = Obj(
    {
        **OPTION_COMMON,
        "type": Integer(allowed=frozenset({1})),
        "options": n(Array(LEAF_OPTION, 25)),
    },
    frozenset({"type", "name", "description"}),
)
GROUP = Obj(
    {**OPTION_COMMON, "type": Integer(allowed=frozenset({2})), "options": n(Array(SUBCOMMAND, 25))},
    frozenset({"type", "name", "description"}),
)
OPTION = AnyOf(
    (LEAF_OPTION, SUBCOMMAND, GROUP),
    pick=lambda option: {1: 1, 2: 2}.get(option.get("type") if isinstance(option, dict) else 0, 0),
)


def _permissions(value: Any) -> Errors | None:
    """The spec types it an integer, Discord's documentation a string of digits (what
    discord.py sends): both are taken, nothing else."""
    if (isinstance(value, str) and value.isdigit()) or isinstance(value, int):
        return None
    return _say("NUMBER_TYPE_COERCE", f"Value {value!r} is not a permission set.")


COMMAND = obj(
    ("name",),
    name=NAME,
    description=n(Text(100)),
    options=n(Array(OPTION, 25)),
    default_member_permissions=n(Rule(_permissions)),
    dm_permission=n(Boolean()),
    nsfw=n(Boolean()),
    type=n(Integer(1, 4)),
    contexts=n(Array(Integer(0, 2), 3, 1, unique=True)),
    integration_types=n(Array(Integer(0, 1), 2, 1, unique=True)),
)
COMMANDS = Array(COMMAND, 130)

# --- the table --------------------------------------------------------------------------------

NO_BODY = Rule(lambda body: None if body in ({}, None) else _say("BODY", "Expects no body."))

# (method, route as the fake routes it under /api/v10) → the body's description
ENDPOINTS: dict[tuple[str, str], Node] = {
    ("POST", "/channels/{channel_id}/messages"): MESSAGE_CREATE,
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): MESSAGE_EDIT,
    ("POST", "/channels/{channel_id}/messages/{message_id}/threads"): THREAD_FROM_MESSAGE,
    ("POST", "/channels/{channel_id}/threads"): THREAD,
    ("PATCH", "/channels/{channel_id}"): THREAD_MODIFY,
    ("POST", "/channels/{channel_id}/messages/{message_id}/crosspost"): NO_BODY,
    ("POST", "/interactions/{interaction_id}/{token}/callback"): CALLBACK,
    ("POST", "/webhooks/{app_id}/{token}"): WEBHOOK_MESSAGE,
    ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}"): WEBHOOK_EDIT,
    ("PUT", "/applications/{app_id}/commands"): COMMANDS,
    ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands"): COMMANDS,
    ("POST", "/applications/{app_id}/commands"): COMMAND,
    ("POST", "/applications/{app_id}/guilds/{guild_id}/commands"): COMMAND,
}


# (method, route) → its query string's description (a GET's parameters, all strings)
QUERIES: dict[tuple[str, str], Node] = {
    ("GET", "/channels/{channel_id}/threads/archived/public"): obj(
        before=Timestamp(), limit=QueryInteger(1, 100)
    ),
}


@dataclass(frozen=True)
class Violation:
    """A request the specification refuses: what was sent where, and Discord's errors."""

    method: str
    path: str
    errors: Errors
    body: Any  # the body, or the query string when that is what broke the spec


def check(method: str, route: str, body: Any) -> Errors | None:
    """Discord's `errors` tree for BODY sent to ROUTE, or None (also for routes not listed:
    GETs and DELETEs carry no body)."""
    node = ENDPOINTS.get((method, route))
    return None if node is None else node.errors(body)


def check_query(method: str, route: str, query: Mapping[str, str]) -> Errors | None:
    """Discord's `errors` tree for the query string of a request to ROUTE, or None (also for
    routes not listed)."""
    node = QUERIES.get((method, route))
    return None if node is None else node.errors(dict(query))
