"""Turning "the member runs /source add url:x" into the interaction payload Discord would send.

The options are built from the schema the bot registered, typed and checked the way Discord's client
would (choices, ranges, lengths, channel types); users, channels and roles go into `resolved`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .files import Upload
from .model import Channel, ChannelType, Guild, Member, Perm, Role, User

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10
ATTACHMENT = 11


class InvocationError(ValueError):
    """The test asked for an interaction that Discord's client would not let a member send."""


class CommandRefused(InvocationError):
    """The member lacks the command's default_member_permissions (Discord hides it from them)."""


@dataclass
class Invocation:
    """One interaction the server sent, and everything the bot answered to it."""

    id: int
    token: str
    guild: Guild
    member: Member
    channel: Channel
    payload: dict[str, Any]
    sent_at: float = field(default_factory=time.monotonic)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] | None = None
    message: dict[str, Any] | None = None  # a component interaction's: the message pressed
    answered_after: float | None = None
    _answered: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def callback_type(self) -> int | None:
        return self.callbacks[0]["type"] if self.callbacks else None

    @property
    def ephemeral(self) -> bool:
        data = self.callbacks[0].get("data") or {} if self.callbacks else {}
        return bool(int(data.get("flags", 0) or 0) & 64)

    @property
    def choices(self) -> list[dict[str, Any]]:
        """The autocomplete choices the bot answered (callback type 8)."""
        for cb in self.callbacks:
            if cb["type"] == 8:
                return list((cb.get("data") or {}).get("choices", []))
        return []

    def _touch(self) -> None:
        self._changed.set()

    async def wait_answer(self, timeout: float) -> None:  # noqa: ASYNC109
        await asyncio.wait_for(self._answered.wait(), timeout)

    async def wait_for(self, predicate: Any, timeout: float = 2.0) -> None:  # noqa: ASYNC109
        """Wait until predicate(self) holds (e.g. a followup arrived, the original was edited)."""

        async def loop() -> None:
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)


def _options_at(schema: dict[str, Any], path: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The option schemas of the (sub)command at path, and the subcommand chain that leads there."""
    options = schema.get("options") or []
    chain: list[str] = []
    for part in path:
        found = next(
            (
                o
                for o in options
                if o["name"] == part and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
            ),
            None,
        )
        if found is None:
            raise InvocationError(f"/{schema['name']} has no subcommand {part!r}")
        chain.append(part)
        options = found.get("options") or []
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options):
        names = ", ".join(o["name"] for o in options)
        raise InvocationError(f"/{' '.join([schema['name'], *chain])} needs a subcommand: {names}")
    return options, chain


def _resolved_channel(channel: Channel, perms: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(channel.id),
        "name": channel.name,
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "permissions": str(perms),
        "parent_id": str(channel.parent_id) if channel.parent_id else None,
    }
    if channel.is_thread:
        data["thread_metadata"] = channel.payload()["thread_metadata"]
    return data


def build_options(
    guild: Guild,
    member: Member,
    schema: dict[str, Any],
    path: list[str],
    values: dict[str, Any],
    focused: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The `options` tree and the `resolved` block for an invocation of schema at path."""
    option_schemas, chain = _options_at(schema, path)
    by_name = {o["name"]: o for o in option_schemas}
    resolved: dict[str, dict[str, Any]] = {}
    leaf: list[dict[str, Any]] = []
    for name in values:
        if name not in by_name:
            raise InvocationError(f"/{schema['name']} has no option {name!r}")
    for opt in option_schemas:
        name = opt["name"]
        if name not in values:
            if opt.get("required") and focused is None:  # while typing, others may be empty
                raise InvocationError(f"option {name!r} is required")
            continue
        raw = values[name]
        if name == focused:
            leaf.append({"name": name, "type": opt["type"], "value": str(raw), "focused": True})
            continue
        leaf.append(
            {"name": name, "type": opt["type"], "value": _typed(guild, member, opt, raw, resolved)}
        )
    if focused is not None and focused not in values:
        raise InvocationError(f"focused option {focused!r} needs a value (the text typed so far)")
    options = leaf
    for part, kind in reversed(list(zip(chain, _kinds(schema, chain), strict=True))):
        options = [{"name": part, "type": kind, "options": options}]
    return options, resolved


def _kinds(schema: dict[str, Any], chain: list[str]) -> list[int]:
    kinds = []
    options = schema.get("options") or []
    for part in chain:
        found = next(o for o in options if o["name"] == part)
        kinds.append(found["type"])
        options = found.get("options") or []
    return kinds


def _id_of(value: Any) -> int:
    return value if isinstance(value, int) else int(value.id)


def _typed(
    guild: Guild, member: Member, opt: dict[str, Any], raw: Any, resolved: dict[str, dict[str, Any]]
) -> Any:
    kind = opt["type"]
    name = opt["name"]
    if kind == STRING:
        value: Any = str(raw)
        if "min_length" in opt and len(value) < opt["min_length"]:
            raise InvocationError(f"{name}: shorter than {opt['min_length']}")
        if "max_length" in opt and len(value) > opt["max_length"]:
            raise InvocationError(f"{name}: longer than {opt['max_length']}")
    elif kind == INTEGER:
        value = int(raw)
    elif kind == NUMBER:
        value = float(raw)
    elif kind == BOOLEAN:
        value = bool(raw)
    elif kind == CHANNEL:
        channel = guild.channels.get(_id_of(raw))
        if channel is None:
            raise InvocationError(f"{name}: no such channel in {guild.name}")
        types = opt.get("channel_types")
        if types and channel.type not in types:
            raise InvocationError(f"{name}: channel type {channel.type} not in {types}")
        perms = guild.permissions_in(member, channel)
        resolved.setdefault("channels", {})[str(channel.id)] = _resolved_channel(channel, perms)
        value = str(channel.id)
    elif kind in (ROLE, USER, MENTIONABLE):
        value = _resolve_mentionable(guild, kind, name, raw, resolved)
    elif kind == ATTACHMENT:
        if not isinstance(raw, Upload):
            raise InvocationError(f"{name}: give a file made with server.files.add()")
        resolved.setdefault("attachments", {})[str(raw.id)] = raw.payload(ephemeral=True)
        value = str(raw.id)
    else:
        raise InvocationError(f"{name}: option type {kind} is not supported by the fake")
    if kind in (INTEGER, NUMBER):
        if "min_value" in opt and value < opt["min_value"]:
            raise InvocationError(f"{name}: below {opt['min_value']}")
        if "max_value" in opt and value > opt["max_value"]:
            raise InvocationError(f"{name}: above {opt['max_value']}")
    choices = opt.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise InvocationError(f"{name}: {value!r} is not one of the choices")
    return value


def _resolve_mentionable(
    guild: Guild, kind: int, name: str, raw: Any, resolved: dict[str, dict[str, Any]]
) -> str:
    ident = _id_of(raw)
    if kind in (ROLE, MENTIONABLE) and ident in guild.roles:
        resolved.setdefault("roles", {})[str(ident)] = guild.roles[ident].payload()
        return str(ident)
    if kind in (USER, MENTIONABLE):
        member = guild.members.get(ident)
        user = member.user if member else (raw if isinstance(raw, User) else None)
        if user is not None:
            resolved.setdefault("users", {})[str(ident)] = user.payload()
            if member is not None:
                data = member.payload(with_user=False)
                data["permissions"] = str(guild.base_permissions(member))
                resolved.setdefault("members", {})[str(ident)] = data
            return str(ident)
    what = {ROLE: "role", USER: "user", MENTIONABLE: "role or user"}[kind]
    raise InvocationError(f"{name}: no such {what} in {guild.name}")


def may_use(guild: Guild, member: Member, channel: Channel, schema: dict[str, Any]) -> bool:
    """Whether Discord shows the command to the member (default_member_permissions)."""
    required = schema.get("default_member_permissions")
    if required is None:
        return True
    need = int(required)
    perms = guild.permissions_in(member, channel)
    if perms & Perm.ADMINISTRATOR or guild.base_permissions(member) == Perm.ALL:
        return True
    return need != 0 and perms & need == need


def component_payload(
    guild: Guild,
    member: Member,
    channel: Channel,
    message: dict[str, Any],
    button: dict[str, Any],
    bot_member: Member,
    application_id: int,
) -> dict[str, Any]:
    """The INTERACTION_CREATE payload of a press of BUTTON on MESSAGE (id and token to add)."""
    perms = guild.permissions_in(member, channel)
    return {
        "application_id": str(application_id),
        "type": 3,
        "version": 1,
        "guild_id": str(guild.id),
        "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
        "channel_id": str(channel.id),
        "channel": channel.payload() | {"permissions": str(perms)},
        "member": member.payload() | {"permissions": str(perms)},
        "app_permissions": str(guild.permissions_in(bot_member, channel)),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
        "message": dict(message),
        "data": {"custom_id": button["custom_id"], "component_type": button["type"]},
    }


__all__ = [
    "ChannelType",
    "CommandRefused",
    "Invocation",
    "InvocationError",
    "Role",
    "build_options",
    "component_payload",
    "may_use",
]
