"""A Discord-compatible server on 127.0.0.1 for tests: REST under /api/v10 and a JSON gateway.

The real discord.py client talks to it through its own HTTP and gateway code (see
`bot.discord.endpoints.point_discord_at`). Tests build a world (guilds, roles, channels, members),
invoke the commands the bot registered as a member would, and assert on what the server recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web

from .components import find_button
from .crosspost import crosspost
from .files import Files, read_body, request_errors
from .forums import Forums
from .interactions import (
    CommandRefused,
    Invocation,
    InvocationError,
    build_options,
    component_payload,
    may_use,
)
from .limits import RateLimits, validate_message
from .model import (
    Channel,
    ChannelType,
    Guild,
    Member,
    Overwrite,
    Perm,
    Role,
    User,
    iso_now,
    snowflake,
)
from .shards import ShardSpec, guild_of_event
from .spec import ENDPOINTS, Violation, check_query
from .spec import check as check_spec

log = logging.getLogger(__name__)

API = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ERRORS = {
    403: (50013, "Missing Permissions"),
    404: (10003, "Unknown Channel"),
    500: (0, "500: Internal Server Error"),
    502: (0, "502: Bad Gateway"),
    503: (0, "503: Service Unavailable"),
    504: (0, "504: Gateway Timeout"),
}


def error(
    status: int, code: int, message: str, errors: dict[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return web.json_response(body, status=status)


@dataclass
class Fault:
    method: str
    pattern: str  # glob on the path after /api/v10, e.g. "/channels/*/messages"
    status: int | None  # None: only delay
    times: int
    delay: float = 0.0
    retry_after: float = 0.2

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0 and self.method in (method, "*") and fnmatch.fnmatch(path, self.pattern)
        )


@dataclass
class Record:
    """One thing the bot did to a channel's messages."""

    kind: str  # "create" | "edit" | "delete"
    channel_id: int
    message: dict[str, Any]
    request: dict[str, Any] | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Session:
    id: str
    ws: web.WebSocketResponse | None
    seq: int = 0
    backlog: list[dict[str, Any]] = field(default_factory=list)
    intents: int = 0
    identified: int = 0  # how many IDENTIFYs led to this session
    resumes: int = 0
    shard: ShardSpec = field(default_factory=ShardSpec)  # whose guilds it is sent


class FakeDiscord:
    """The server. `await start()`, then point discord.py at `api_base` and `gateway_url`."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        heartbeat_interval_ms: int = 1000,
        nonce_window: float = 300.0,
        interaction_deadline: float = 3.0,
        limits: RateLimits | None = None,
        shards: int = 1,
    ) -> None:
        self.token = token
        self.recommended_shards = shards  # what GET /gateway/bot answers
        self.gateway_refused = False  # an outage: gateway connections answered 503
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.nonce_window = nonce_window
        self.interaction_deadline = interaction_deadline
        self.limits = limits or RateLimits()
        self.bot_user = User(snowflake(), "Bulletin", bot=True)
        self.application_id = self.bot_user.id
        self.owner = User(snowflake(), "owner")
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user, self.owner.id: self.owner}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.records: list[Record] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) of every REST call
        self.commands: dict[int | None, dict[str, dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self.violations: list[Violation] = []  # requests Discord's specification refuses
        self.violations_expected = False  # a test that sends them on purpose says so
        self.sessions: dict[str, Session] = {}
        self.gateway_connections = 0  # websockets opened, whether they IDENTIFY or not
        self.invocations: dict[str, Invocation] = {}
        self.files = Files()  # the CDN: attachments given to commands, files the bot uploads
        self.forums = Forums(self)  # forum channels and their posts
        self.clock_offset = 0.0  # added to time.monotonic() for the nonce window
        self._nonces: dict[tuple[int, str], tuple[float, int]] = {}
        self._cursors: dict[int, int] = {}
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._app = web.Application()
        self._sockets: set[web.WebSocketResponse] = set()
        self.port = 0

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        app = self._app = web.Application(middlewares=[self._middleware])
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.files.base_url = self.base_url

    def app_routes(self) -> list[web.AbstractRoute]:
        """Every route the server answers (for the check that the spec table names them)."""
        return list(self._app.router.routes())

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- the world -------------------------------------------------------------------------

    def add_user(self, name: str) -> User:
        user = User(snowflake(), name)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner: User | None = None,
        everyone: int = Perm.DEFAULT_EVERYONE,
        bot_permissions: int = 0,
        guild_id: int | None = None,  # e.g. on a given shard: shards.snowflake_on_shard
    ) -> Guild:
        """A server the bot is in: @everyone, a #general text channel, the bot's member and role."""
        owner = owner or self.owner
        guild = Guild(guild_id or snowflake(), name, owner.id)
        guild.roles[guild.id] = Role(guild.id, "@everyone", everyone)
        self.guilds[guild.id] = guild
        guild.members[owner.id] = Member(owner)
        bot_role = self.add_role(guild, "Bulletin", bot_permissions, position=1)
        guild.members[self.bot_user.id] = Member(self.bot_user, [bot_role.id])
        general = self.add_channel(guild, "general")
        guild.system_channel_id = general.id
        return guild

    def add_role(
        self,
        guild: Guild,
        name: str,
        permissions: int = 0,
        *,
        position: int = 1,
        mentionable: bool = False,
    ) -> Role:
        role = Role(snowflake(), name, permissions, position, mentionable)
        guild.roles[role.id] = role
        self._later("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()})
        return role

    def add_member(self, guild: Guild, who: User | str, roles: list[Role] | None = None) -> Member:
        user = who if isinstance(who, User) else self.add_user(who)
        member = Member(user, [r.id for r in roles or []])
        guild.members[user.id] = member
        return member

    def add_channel(
        self,
        guild: Guild,
        name: str,
        *,
        type: int = ChannelType.TEXT,
        overwrites: list[Overwrite] | None = None,
    ) -> Channel:
        channel = Channel(snowflake(), guild.id, name, type, position=len(guild.channels))
        for ow in overwrites or []:
            channel.overwrites[ow.id] = ow
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self._later("CHANNEL_CREATE", channel.payload())
        return channel

    def bot_member(self, guild: Guild) -> Member:
        return guild.members[self.bot_user.id]

    def bot_role(self, guild: Guild) -> Role:
        return guild.roles[self.bot_member(guild).roles[0]]

    def guild_of(self, channel: Channel) -> Guild:
        return self.guilds[channel.guild_id]

    async def set_overwrite(
        self, channel: Channel, target: Role | Member | User, *, allow: int = 0, deny: int = 0
    ) -> None:
        """Set a permission overwrite and tell the bot (CHANNEL_UPDATE)."""
        kind = 0 if isinstance(target, Role) else 1
        channel.overwrites[target.id] = Overwrite(target.id, kind, allow, deny)
        await self.dispatch("CHANNEL_UPDATE", channel.payload())

    async def set_role_permissions(self, guild: Guild, role: Role, permissions: int) -> None:
        """Change a role's permissions and tell the bot (GUILD_ROLE_UPDATE)."""
        role.permissions = permissions
        await self.dispatch(
            "GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.payload()}
        )

    async def archive_thread(
        self, thread: Channel, *, locked: bool = False, at: datetime | None = None
    ) -> None:
        """Archive a thread, as Discord does after its inactivity period (or a moderator, with
        `locked`: then the bot cannot post in it again), AT a given time (default: now)."""
        thread.set_archived(True, at=at)
        thread.locked = locked
        await self.dispatch("THREAD_UPDATE", thread.payload())

    async def rename_channel(self, channel: Channel, name: str) -> None:
        """Rename a channel, as a moderator does, and tell the bot (CHANNEL_UPDATE)."""
        channel.name = name
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        await self.dispatch(event, channel.payload())

    async def delete_channel(self, channel: Channel) -> None:
        """Delete a channel (and its threads) and tell the bot (CHANNEL_DELETE)."""
        guild = self.guild_of(channel)
        for child in [c for c in guild.channels.values() if c.parent_id == channel.id]:
            await self.delete_channel(child)
        guild.channels.pop(channel.id, None)
        self.channels.pop(channel.id, None)
        event = "THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE"
        await self.dispatch(event, channel.payload())

    async def announce_guild(self, guild: Guild) -> None:
        """Send GUILD_CREATE for a guild added after the bot connected (the bot joins it)."""
        await self.dispatch("GUILD_CREATE", guild.payload(self.bot_member(guild)))

    # ---- faults ----------------------------------------------------------------------------

    def inject(
        self,
        method: str,
        pattern: str,
        *,
        status: int | None = 500,
        times: int = 1,
        delay: float = 0.0,
        retry_after: float = 0.2,
    ) -> Fault:
        """The next `times` requests matching method and path glob fail with `status` (429 has a
        proper body and headers), after `delay` seconds; status None makes them only slow."""
        fault = Fault(method.upper(), pattern, status, times, delay, retry_after)
        self.faults.append(fault)
        return fault

    async def gateway_outage(self) -> None:
        """Drop every gateway connection and refuse new ones (503) until `gateway_back()`."""
        self.gateway_refused = True
        await self.drop_gateway()

    def gateway_back(self) -> None:
        self.gateway_refused = False

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close every gateway connection as Discord does on a hiccup; the client should RESUME."""
        for ws in list(self._sockets):
            await ws.close(code=code)

    def advance_clock(self, seconds: float) -> None:
        """Move the nonce-window clock forward (the rate-limit clock stays real)."""
        self.clock_offset += seconds

    def now(self) -> float:
        return time.monotonic() + self.clock_offset

    # ---- what tests read -------------------------------------------------------------------

    def messages_in(self, channel: Channel | int) -> list[dict[str, Any]]:
        """The messages everyone in the channel sees now (ephemeral ones are not), oldest first."""
        cid = channel if isinstance(channel, int) else channel.id
        return [
            m
            for m in self.messages.values()
            if int(m["channel_id"]) == cid and not int(m["flags"]) & 64
        ]

    def records_in(self, channel: Channel | int, kind: str | None = None) -> list[Record]:
        cid = channel if isinstance(channel, int) else channel.id
        return [r for r in self.records if r.channel_id == cid and kind in (None, r.kind)]

    def count(self, method: str, pattern: str, status: int | None = None) -> int:
        """How many REST requests matched (e.g. retries after an injected fault)."""
        return sum(
            1
            for m, p, s in self.requests
            if m == method.upper() and fnmatch.fnmatch(p, pattern) and status in (None, s)
        )

    async def next_message(self, channel: Channel | int, timeout: float = 2.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The next message created in the channel that this helper has not returned yet."""
        cid = channel if isinstance(channel, int) else channel.id
        seen = self._cursors.get(cid, 0)
        created = await self.wait_until(
            lambda: (r := self.records_in(cid, "create"))[seen:] and r, timeout
        )
        self._cursors[cid] = seen + 1
        return created[seen].message

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 2.0) -> Any:  # noqa: ASYNC109
        """Wait until predicate() is truthy; raises TimeoutError after `timeout` seconds."""

        async def loop() -> Any:
            async with self._changed:
                while not (value := predicate()):
                    # Woken by every request; also re-checked every 20 ms for predicates that
                    # look at the bot's side (its cache updates after gateway events).
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.02)
                return value

        return await asyncio.wait_for(loop(), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def registered(self, guild: Guild | None = None) -> dict[str, dict[str, Any]]:
        """The commands the bot registered (globally, or in the guild)."""
        return self.commands.get(guild.id if guild else None, {})

    # ---- gateway ---------------------------------------------------------------------------

    def _later(self, event: str, data: dict[str, Any]) -> None:
        """Queue an event caused by a synchronous world change; sent before the next dispatch."""
        if self.sessions:
            self._pending.append((event, data))

    async def flush(self) -> None:
        """Send the events queued by world changes (add_channel, add_role) now."""
        while self._pending:
            event, data = self._pending.pop(0)
            await self._send(event, data)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH to every session; a disconnected one keeps it for its RESUME."""
        await self.flush()
        await self._send(event, data)

    async def _send(self, event: str, data: dict[str, Any], only: Session | None = None) -> None:
        guild_id = guild_of_event(event, data)  # only the sessions of its shard hear of a guild
        sessions = [s for s in self.sessions.values() if s.shard.carries(guild_id)]
        for session in [only] if only else sessions:
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.backlog.append(frame)
            del session.backlog[:-1000]
            if session.ws is not None and not session.ws.closed:
                try:
                    await session.ws.send_str(json.dumps(frame))
                except ConnectionError:
                    session.ws = None

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.gateway_refused:
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"only json encoding")
            return ws
        self._sockets.add(ws)
        self.gateway_connections += 1
        session: Session | None = None
        try:
            await ws.send_json({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op, data = frame.get("op"), frame.get("d")
                if op == 1:
                    await ws.send_json({"op": 11})
                elif op == 2:
                    session = await self._identify(ws, data)
                elif op == 6:
                    session = await self._resume(ws, data)
                # op 3 presence, op 4 voice, op 8 member requests: accepted and ignored
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        shard = ShardSpec.from_identify(data.get("shard"))
        if shard is None:
            await ws.close(code=4010, message=b"Invalid shard.")
            return None
        # Changes queued before go to the sessions there were; READY and GUILD_CREATE below
        # carry the whole state to this one.
        await self.flush()
        session = Session(
            secrets.token_hex(16), ws, intents=int(data.get("intents", 0)), shard=shard
        )
        session.identified += 1
        self.sessions[session.id] = session
        guilds = [
            g for g in self.guilds.values() if self.bot_user.id in g.members and shard.carries(g.id)
        ]
        user = self.bot_user.payload() | {"verified": True, "mfa_enabled": False, "flags": 0}
        await self._send(
            "READY",
            {
                "v": 10,
                "user": user,
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.id,
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(self.application_id), "flags": 0},
                "shard": shard.payload(),
            },
            only=session,
        )
        for guild in guilds:
            await self._send("GUILD_CREATE", guild.payload(self.bot_member(guild)), only=session)
        await self._notify()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            await ws.send_json({"op": 9, "d": False})
            return None
        session.ws = ws
        session.resumes += 1
        after = int(data.get("seq") or 0)
        for frame in list(session.backlog):
            if frame["s"] > after:
                await ws.send_str(json.dumps(frame))
        session.seq += 1
        await ws.send_json({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}})
        await self._notify()
        return session

    @property
    def resumes(self) -> int:
        return sum(s.resumes for s in self.sessions.values())

    @property
    def identifies(self) -> int:
        return sum(s.identified for s in self.sessions.values())

    @property
    def identified_shards(self) -> list[tuple[int, int]]:
        """(shard id, shard count) of every session IDENTIFYed, in order."""
        return [(s.shard.id, s.shard.count) for s in self.sessions.values()]

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has a live gateway session."""
        await self.wait_until(
            lambda: any(s.ws is not None for s in self.sessions.values()), timeout
        )

    # ---- REST plumbing ---------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith(API):
            return await handler(request)
        sub = path[len(API) :]
        response = await self._guarded(request, handler, sub)
        if response.content_type == "application/json":
            response.headers["Content-Type"] = "application/json"  # discord.py wants it exactly
        response.headers.setdefault("Via", "1.1 google")  # discord.py trusts 429s only with Via
        self.requests.append((request.method, sub, response.status))
        await self._notify()
        return response

    async def _guarded(
        self, request: web.Request, handler: Handler, sub: str
    ) -> web.StreamResponse:
        # Interaction callbacks and webhook calls carry their token in the URL, not a header.
        tokened = sub.startswith(("/interactions/", "/webhooks/"))
        if not tokened and request.headers.get("Authorization") != f"Bot {self.token}":
            return error(401, 0, "401: Unauthorized")
        for fault in self.faults:
            if fault.matches(request.method, sub):
                fault.times -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status == 429:
                    return self._too_many(fault.retry_after, scope="user", is_global=False)
                if fault.status is not None:
                    code, message = ERRORS.get(fault.status, (0, f"{fault.status}"))
                    return error(fault.status, code, message)
                break
        if not tokened and (wait := self.limits.check_global()) is not None:
            return self._too_many(wait, scope="global", is_global=True)
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else sub
        major = next(
            (
                request.match_info[k]
                for k in ("channel_id", "guild_id", "app_id")
                if k in request.match_info
            ),
            "",
        )
        name = (
            "message_create"
            if (request.method, template) == ("POST", API + "/channels/{channel_id}/messages")
            else f"{request.method} {template}"
        )
        bucket = self.limits.bucket(name, major)
        now = self.limits.now()
        if not bucket.take(now):
            response = self._too_many(bucket.reset_after(now), scope="user", is_global=False)
        elif (refused := await self._against_spec(request, template[len(API) :])) is not None:
            response = refused
        else:
            response = await handler(request)
        reset_after = bucket.reset_after(now)
        response.headers.update(
            {
                "X-RateLimit-Limit": str(bucket.limit),
                "X-RateLimit-Remaining": str(bucket.remaining()),
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": hashlib.sha1(
                    name.encode(), usedforsecurity=False
                ).hexdigest()[:16],
            }
        )
        return response

    async def _against_spec(self, request: web.Request, route: str) -> web.Response | None:
        """400 for a query string or body Discord's specification refuses (kept in
        `violations`), else None."""
        sent: Any = dict(request.query)
        problem = check_query(request.method, route, sent)
        if problem is None and (request.method, route) in ENDPOINTS:
            sent = {}
            if request.content_type.startswith("multipart/"):
                sent, _files = await read_body(request)  # kept on the request for the handler
            elif request.body_exists:
                sent = await request.json()  # aiohttp keeps the bytes: the handler reads them
            problem = check_spec(request.method, route, sent)
        if problem is None:
            return None
        self.violations.append(Violation(request.method, request.path, problem, sent))
        log.error("fake Discord: %s %s breaks the spec: %s", request.method, route, problem)
        return error(400, 50035, "Invalid Form Body", problem)

    def _too_many(self, retry_after: float, *, scope: str, is_global: bool) -> web.Response:
        self.limits.hits += 1
        retry_after = round(max(retry_after, 0.001), 3)
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        response = web.json_response(body, status=429)
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
        response.headers["X-RateLimit-Scope"] = scope
        if is_global:
            response.headers["X-RateLimit-Global"] = "true"
        return response

    def _routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/gateway", self._gateway)
        self.files.route(app)
        a = API
        r.add_get(a + "/gateway", self._get_gateway)
        r.add_get(a + "/gateway/bot", self._get_gateway)
        r.add_get(a + "/users/@me", self._get_me)
        r.add_get(a + "/oauth2/applications/@me", self._get_application)
        r.add_get(a + "/applications/@me", self._get_application)
        for prefix in ("/applications/{app_id}", "/applications/{app_id}/guilds/{guild_id}"):
            r.add_get(a + prefix + "/commands", self._list_commands)
            r.add_put(a + prefix + "/commands", self._put_commands)
            r.add_post(a + prefix + "/commands", self._post_command)
            r.add_delete(a + prefix + "/commands/{command_id}", self._delete_command)
        r.add_post(a + "/interactions/{interaction_id}/{token}/callback", self._callback)
        r.add_post(a + "/webhooks/{app_id}/{token}", self._followup)
        r.add_get(a + "/webhooks/{app_id}/{token}/messages/{message_id}", self._get_webhook_message)
        r.add_patch(
            a + "/webhooks/{app_id}/{token}/messages/{message_id}", self._edit_webhook_message
        )
        r.add_delete(
            a + "/webhooks/{app_id}/{token}/messages/{message_id}", self._delete_webhook_message
        )
        r.add_get(a + "/channels/{channel_id}", self._get_channel)
        r.add_patch(a + "/channels/{channel_id}", self._modify_channel)
        r.add_delete(a + "/channels/{channel_id}", self._delete_channel)
        r.add_get(a + "/channels/{channel_id}/messages", self._list_messages)
        r.add_post(a + "/channels/{channel_id}/messages", self._create_message)
        r.add_get(a + "/channels/{channel_id}/messages/{message_id}", self._get_message)
        r.add_patch(a + "/channels/{channel_id}/messages/{message_id}", self._edit_message)
        r.add_delete(a + "/channels/{channel_id}/messages/{message_id}", self._delete_message)
        r.add_post(
            a + "/channels/{channel_id}/messages/{message_id}/threads", self._thread_from_message
        )
        r.add_post(a + "/channels/{channel_id}/threads", self._thread_without_message)
        r.add_get(a + "/channels/{channel_id}/threads/archived/public", self._archived_public)
        r.add_post(a + "/channels/{channel_id}/messages/{message_id}/crosspost", self._crosspost)
        r.add_get(a + "/guilds/{guild_id}", self._get_guild)
        r.add_get(a + "/guilds/{guild_id}/channels", self._get_guild_channels)
        r.add_get(a + "/guilds/{guild_id}/roles", self._get_roles)
        r.add_get(a + "/guilds/{guild_id}/members/{user_id}", self._get_member)
        r.add_get(a + "/guilds/{guild_id}/threads/active", self._active_threads)

    # ---- REST: identity --------------------------------------------------------------------

    async def _get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return web.json_response(
            {
                "url": self.gateway_url,
                "shards": self.recommended_shards,
                "session_start_limit": limit,
            }
        )

    async def _get_me(self, request: web.Request) -> web.Response:
        user = self.bot_user.payload() | {"verified": True, "mfa_enabled": False, "flags": 0}
        return web.json_response(user)

    async def _get_application(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "Bulletin under test",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner.payload(),
                "verify_key": "00" * 32,
                "team": None,
                "flags": 0,
                "bot": self.bot_user.payload(),
            }
        )

    # ---- REST: application commands --------------------------------------------------------

    def _scope(self, request: web.Request) -> int | None:
        guild_id = request.match_info.get("guild_id")
        return int(guild_id) if guild_id else None

    def _stored_command(self, scope: int | None, data: dict[str, Any]) -> dict[str, Any]:
        existing = self.commands.get(scope, {}).get(data["name"])
        stored = dict(data)
        stored.setdefault("type", 1)
        stored.setdefault("description", "")
        stored.setdefault("options", [])
        perms = stored.get("default_member_permissions")
        stored["default_member_permissions"] = None if perms is None else str(int(perms))
        stored["id"] = existing["id"] if existing else str(snowflake())
        stored["application_id"] = str(self.application_id)
        stored["version"] = str(snowflake())
        if scope is not None:
            stored["guild_id"] = str(scope)
        return stored

    async def _list_commands(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.commands.get(self._scope(request), {}).values()))

    async def _put_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        body = await request.json()
        problem = _check_commands(body)
        if problem:
            return error(400, 50035, "Invalid Form Body", {"_errors": [{"message": problem}]})
        stored = {cmd["name"]: self._stored_command(scope, cmd) for cmd in body}
        self.commands[scope] = stored
        return web.json_response(list(stored.values()))

    async def _post_command(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        body = await request.json()
        problem = _check_commands([body])
        if problem:
            return error(400, 50035, "Invalid Form Body", {"_errors": [{"message": problem}]})
        stored = self._stored_command(scope, body)
        self.commands.setdefault(scope, {})[stored["name"]] = stored
        return web.json_response(stored, status=201)

    async def _delete_command(self, request: web.Request) -> web.Response:
        commands = self.commands.get(self._scope(request), {})
        for name, cmd in list(commands.items()):
            if cmd["id"] == request.match_info["command_id"]:
                del commands[name]
                return web.Response(status=204)
        return error(404, 10063, "Unknown application command")

    # ---- interactions ----------------------------------------------------------------------

    def _find_command(self, guild: Guild, name: str) -> dict[str, Any]:
        for scope in (guild.id, None):
            cmd = self.commands.get(scope, {}).get(name)
            if cmd is not None:
                return cmd
        raise InvocationError(f"the bot registered no /{name} here")

    async def invoke(
        self,
        guild: Guild,
        member: Member,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        channel: Channel | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (a test helper: the timeout is the point)
    ) -> Invocation:
        """Run a slash command as `member` ("source add" for subcommands) and wait for the answer.

        Raises CommandRefused when Discord would hide the command from the member, InvocationError
        for options Discord's client would not send, TimeoutError when the bot does not answer.
        """
        inv = self._interaction(guild, member, command, options or {}, channel, focused=None)
        await self.dispatch("INTERACTION_CREATE", inv.payload)
        await inv.wait_answer(timeout if timeout is not None else self.interaction_deadline + 1.0)
        return inv

    async def autocomplete(
        self,
        guild: Guild,
        member: Member,
        command: str,
        options: dict[str, Any],
        focused: str,
        *,
        channel: Channel | None = None,
        timeout: float = 2.0,  # noqa: ASYNC109 (a test helper: the timeout is the point)
    ) -> list[dict[str, Any]]:
        """Type into option `focused` (its value in `options` is the text so far); the choices."""
        inv = self._interaction(guild, member, command, options, channel, focused=focused)
        await self.dispatch("INTERACTION_CREATE", inv.payload)
        await inv.wait_answer(timeout)
        return inv.choices

    def _interaction(
        self,
        guild: Guild,
        member: Member,
        command: str,
        values: dict[str, Any],
        channel: Channel | None,
        *,
        focused: str | None,
    ) -> Invocation:
        channel = channel or guild.channels[guild.system_channel_id or next(iter(guild.channels))]
        top, *path = command.split()
        schema = self._find_command(guild, top)
        if not may_use(guild, member, channel, schema):
            raise CommandRefused(f"{member.user.username} may not use /{top} in #{channel.name}")
        options, resolved = build_options(guild, member, schema, path, values, focused)
        interaction_id, token = snowflake(), secrets.token_urlsafe(24)
        data: dict[str, Any] = {"id": schema["id"], "name": top, "type": 1, "options": options}
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in schema:
            data["guild_id"] = schema["guild_id"]
        member_data = member.payload() | {"permissions": str(guild.permissions_in(member, channel))}
        bot_perms = guild.permissions_in(self.bot_member(guild), channel)
        channel_data = channel.payload() | {
            "permissions": str(guild.permissions_in(member, channel))
        }
        payload = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": 4 if focused else 2,
            "token": token,
            "version": 1,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel_data,
            "member": member_data,
            "app_permissions": str(bot_perms),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "data": data,
        }
        inv = Invocation(interaction_id, token, guild, member, channel, payload)
        self.invocations[token] = inv
        return inv

    async def press(
        self,
        message: dict[str, Any],
        custom_id: str,
        member: Member | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a test helper: the timeout is the point)
    ) -> Invocation:
        """Press the button CUSTOM_ID of a message as MEMBER (by default whoever ran the command
        that made it) and wait for the bot's answer; a component interaction (type 3)."""
        channel = self.channels[int(message["channel_id"])]
        guild = self.guild_of(channel)
        button = find_button(message, custom_id)
        if button is None or button.get("disabled"):
            raise InvocationError(f"the message has no enabled button {custom_id!r}")
        runner = int((message.get("interaction_metadata") or {}).get("user", {}).get("id", 0))
        member = member or guild.members[runner]
        if message["flags"] & 64 and member.id != runner:
            raise InvocationError("an ephemeral message is seen only by who ran the command")
        interaction_id, token = snowflake(), secrets.token_urlsafe(24)
        payload = component_payload(
            guild, member, channel, message, button, self.bot_member(guild), self.application_id
        )
        payload |= {"id": str(interaction_id), "token": token}
        inv = Invocation(interaction_id, token, guild, member, channel, payload, message=message)
        self.invocations[token] = inv
        await self.dispatch("INTERACTION_CREATE", payload)
        await inv.wait_answer(timeout if timeout is not None else self.interaction_deadline + 1.0)
        return inv

    async def _callback(self, request: web.Request) -> web.Response:
        inv = self.invocations.get(request.match_info["token"])
        if inv is None or str(inv.id) != request.match_info["interaction_id"]:
            return error(404, 10062, "Unknown interaction")
        if inv.callbacks:
            return error(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - inv.sent_at > self.interaction_deadline:
            return error(404, 10062, "Unknown interaction")
        body, files = await read_body(request)
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        if kind in (4, 5, 7) and (problem := request_errors(data, files)):
            return error(400, 50035, "Invalid Form Body", {"data": problem})
        if kind in (6, 7) and inv.message is None:
            return error(400, 50035, f"Response type {kind} answers only a component interaction")
        if kind == 4:
            problem = validate_message(data)
            if problem:
                return error(400, 50035, "Invalid Form Body", {"data": problem})
        elif kind == 7 and inv.message is not None:
            updated = self._apply_edit(inv.message, data)
            if isinstance(updated, web.Response):
                return updated
            updated["attachments"] = self.files.kept(
                inv.channel.id, updated["attachments"], data, files
            )
        elif kind == 8 and len(data.get("choices", [])) > 25:
            return error(400, 50035, "Invalid Form Body", {"data": {"choices": "at most 25"}})
        elif kind not in (5, 6, 8):
            return error(400, 50035, f"Invalid interaction response type {kind}")
        inv.callbacks.append(body)
        inv.answered_after = time.monotonic() - inv.sent_at
        inv._answered.set()
        message = None
        if kind in (4, 5):
            flags = int(data.get("flags", 0) or 0) | (128 if kind == 5 else 0)  # 128: loading
            message = self._new_message(
                inv.channel, self.bot_user, data, kind=20, flags=flags, inv=inv
            )
            message["attachments"] = self.files.attach(inv.channel.id, data, files)
            inv.original = message
            # Ephemeral replies are seen only by the member; a deferred ("thinking") reply is
            # recorded when its first edit fills it in.
            if not flags & (64 | 128):
                self._record("create", message, data)
        elif kind in (6, 7) and inv.message is not None:
            message = inv.original = inv.message  # @original is the message pressed
            if kind == 7 and not message["flags"] & 64:
                self._record("edit", message, data)
        inv._touch()
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(inv.id),
                "type": inv.payload["type"],
                "response_message_id": message["id"] if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message["flags"] & 64),
            }
        }
        if message is not None and kind != 6:
            answer["resource"] = {"type": kind, "message": message}
        return web.json_response(answer)

    def _invocation(self, request: web.Request) -> Invocation | None:
        inv = self.invocations.get(request.match_info["token"])
        if inv is None or request.match_info["app_id"] != str(self.application_id):
            return None
        return inv

    async def _followup(self, request: web.Request) -> web.Response:
        inv = self._invocation(request)
        if inv is None:
            return error(404, 10015, "Unknown Webhook")
        if not inv.callbacks:
            return error(400, 40060, "The interaction has not been acknowledged.")
        body, files = await read_body(request)
        problem = request_errors(body, files) or validate_message(body)
        if problem:
            return error(400, 50035, "Invalid Form Body", problem)
        flags = int(body.get("flags", 0) or 0)
        message = self._new_message(inv.channel, self.bot_user, body, kind=0, flags=flags, inv=inv)
        message["attachments"] = self.files.attach(inv.channel.id, body, files)
        inv.followups.append(message)
        if not flags & 64:
            self._record("create", message, body)
        inv._touch()
        return web.json_response(message)

    def _webhook_message(
        self, request: web.Request
    ) -> tuple[Invocation | None, dict[str, Any] | None]:
        inv = self._invocation(request)
        if inv is None:
            return None, None
        mid = request.match_info["message_id"]
        if mid == "@original":
            return inv, inv.original
        for msg in inv.followups:
            if msg["id"] == mid:
                return inv, msg
        return inv, None

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        _, message = self._webhook_message(request)
        if message is None:
            return error(404, 10008, "Unknown Message")
        return web.json_response(message)

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        inv, message = self._webhook_message(request)
        if inv is None or message is None:
            return error(404, 10008, "Unknown Message")
        body, files = await read_body(request)
        if problem := request_errors(body, files):
            return error(400, 50035, "Invalid Form Body", problem)
        edited = self._apply_edit(message, body)
        if isinstance(edited, web.Response):
            return edited
        edited["attachments"] = self.files.kept(inv.channel.id, edited["attachments"], body, files)
        if request.match_info["message_id"] == "@original":
            inv.original = edited
        if not edited["flags"] & 64:
            kind = "create" if message["flags"] & 128 else "edit"  # a deferred reply appears now
            edited["flags"] &= ~128
            self._record(kind, edited, body)
        edited["flags"] &= ~128
        inv._touch()
        return web.json_response(edited)

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        inv, message = self._webhook_message(request)
        if inv is None or message is None:
            return error(404, 10008, "Unknown Message")
        self.messages.pop(int(message["id"]), None)
        self._record("delete", message, None)
        inv._touch()
        return web.Response(status=204)

    # ---- channels and messages -------------------------------------------------------------

    async def _crosspost(self, request: web.Request) -> web.Response:
        return await crosspost(self, request)

    def _channel(self, request: web.Request) -> Channel | None:
        return self.channels.get(int(request.match_info["channel_id"]))

    def _bot_perms(self, channel: Channel) -> int:
        guild = self.guild_of(channel)
        return guild.permissions_in(self.bot_member(guild), channel)

    def _need(self, channel: Channel, *perms: int) -> web.Response | None:
        have = self._bot_perms(channel)
        if not have & Perm.VIEW_CHANNEL:
            return error(403, 50001, "Missing Access")
        for perm in perms:
            if not have & perm:
                return error(403, 50013, "Missing Permissions")
        return None

    def _new_message(
        self,
        channel: Channel,
        author: User,
        body: dict[str, Any],
        *,
        kind: int,
        flags: int = 0,
        inv: Invocation | None = None,
    ) -> dict[str, Any]:
        embeds = [dict(e) | {"type": e.get("type", "rich")} for e in body.get("embeds") or []]
        if embeds and not self._bot_perms(channel) & Perm.EMBED_LINKS and inv is None:
            embeds = []  # Discord drops embeds silently without Embed Links
        message: dict[str, Any] = {
            "id": str(snowflake()),
            "channel_id": str(channel.id),
            "guild_id": str(channel.guild_id),
            "author": author.payload(),
            "content": body.get("content") or "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": embeds,
            "components": body.get("components") or [],
            "pinned": False,
            "type": kind,
            "flags": flags,
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if inv is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            message["interaction_metadata"] = {
                "id": str(inv.id),
                "type": inv.payload["type"],
                "user": inv.member.user.payload(),
                "authorizing_integration_owners": {"0": str(inv.guild.id)},
            }
        self.messages[int(message["id"])] = message
        channel.message_count += 1
        return message

    def _record(self, kind: str, message: dict[str, Any], body: dict[str, Any] | None) -> None:
        self.records.append(Record(kind, int(message["channel_id"]), dict(message), body))

    def _apply_edit(
        self, message: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any] | web.Response:
        merged = {k: message.get(k) for k in ("content", "embeds")}
        merged.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
        problem = validate_message(merged)
        if problem:
            return error(400, 50035, "Invalid Form Body", problem)
        message.update(
            content=merged.get("content") or "",
            embeds=[dict(e) | {"type": e.get("type", "rich")} for e in merged.get("embeds") or []],
            edited_timestamp=iso_now(),
        )
        if "components" in body:
            message["components"] = body["components"] or []
        return message

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if (denied := self._need(channel)) is not None:
            return denied
        return web.json_response(channel.payload())

    async def _modify_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        body = await _json_body(request)
        if channel.is_thread:
            return await self.forums.modify_thread(channel, body)
        if (denied := self._need(channel, Perm.MANAGE_CHANNELS)) is not None:
            return denied
        if set(body) != {"name"} or not 1 <= len(str(body["name"])) <= 100:
            return error(400, 50035, "Invalid Form Body")  # only renames are modelled
        await self.rename_channel(channel, str(body["name"]))
        return web.json_response(channel.payload())

    async def _delete_channel(self, request: web.Request) -> web.Response:
        """DELETE /channels/{id}: a thread needs Manage Threads, a channel Manage Channels."""
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        need = Perm.MANAGE_THREADS if channel.is_thread else Perm.MANAGE_CHANNELS
        if (denied := self._need(channel, need)) is not None:
            return denied
        await self.delete_channel(channel)
        return web.json_response(channel.payload())

    async def _create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        send = Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
        if (denied := self._need(channel, send)) is not None:
            return denied
        if channel.type == ChannelType.FORUM:  # a forum holds posts, not messages
            return error(400, 50008, "Cannot send messages in a non-text channel")
        if channel.archived and channel.locked:
            return error(400, 50083, "Thread is archived")
        if channel.archived:  # Discord unarchives a thread that is sent a message
            channel.set_archived(False)
            self._later("THREAD_UPDATE", channel.payload())
        body = await _json_body(request)
        problem = validate_message(body)
        if problem:
            return error(400, 50035, "Invalid Form Body", problem)
        nonce = body.get("nonce")
        key = (self.bot_user.id, str(nonce))
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get(key)
            if seen and self.now() - seen[0] <= self.nonce_window and seen[1] in self.messages:
                return web.json_response(self.messages[seen[1]])
        message = self._new_message(channel, self.bot_user, body, kind=0)
        if nonce is not None:
            self._nonces[key] = (self.now(), int(message["id"]))
        self._record("create", message, body)
        await self.dispatch(
            "MESSAGE_CREATE",
            message | {"member": self.bot_member(self.guild_of(channel)).payload(with_user=False)},
        )
        return web.json_response(message)

    def _message(self, request: web.Request) -> tuple[Channel | None, dict[str, Any] | None]:
        channel = self._channel(request)
        message = self.messages.get(int(request.match_info["message_id"]))
        if channel is None or message is None or message["channel_id"] != str(channel.id):
            return channel, None
        return channel, message

    async def _get_message(self, request: web.Request) -> web.Response:
        channel, message = self._message(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if (denied := self._need(channel, Perm.READ_MESSAGE_HISTORY)) is not None:
            return denied
        if message is None:
            return error(404, 10008, "Unknown Message")
        return web.json_response(message)

    async def _list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if (denied := self._need(channel, Perm.READ_MESSAGE_HISTORY)) is not None:
            return denied
        limit = min(int(request.query.get("limit", 50)), 100)
        newest_first = sorted(self.messages_in(channel), key=lambda m: int(m["id"]), reverse=True)
        return web.json_response(newest_first[:limit])

    async def _edit_message(self, request: web.Request) -> web.Response:
        channel, message = self._message(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if (denied := self._need(channel)) is not None:
            return denied
        if message is None:
            return error(404, 10008, "Unknown Message")
        if message["author"]["id"] != str(self.bot_user.id):
            return error(403, 50005, "Cannot edit a message authored by another user")
        if channel.archived:  # only a message sent to it unarchives a thread
            return error(400, 50083, "Thread is archived")
        body = await _json_body(request)
        edited = self._apply_edit(message, body)
        if isinstance(edited, web.Response):
            return edited
        self._record("edit", edited, body)
        await self.dispatch("MESSAGE_UPDATE", edited)
        return web.json_response(edited)

    async def _delete_message(self, request: web.Request) -> web.Response:
        channel, message = self._message(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if message is None:
            return error(404, 10008, "Unknown Message")
        own = message["author"]["id"] == str(self.bot_user.id)
        if (denied := self._need(channel, *(() if own else (Perm.MANAGE_MESSAGES,)))) is not None:
            return denied
        del self.messages[int(message["id"])]
        self._record("delete", message, None)
        await self.dispatch(
            "MESSAGE_DELETE",
            {
                "id": message["id"],
                "channel_id": message["channel_id"],
                "guild_id": str(channel.guild_id),
            },
        )
        return web.Response(status=204)

    async def _start_thread(
        self, parent: Channel, name: str, kind: int, starter: dict[str, Any] | None
    ) -> web.Response:
        guild = self.guild_of(parent)
        thread = Channel(
            snowflake(), guild.id, name, kind, parent_id=parent.id, owner_id=self.bot_user.id
        )
        if starter is not None:
            thread.id = int(starter["id"])  # Discord gives a thread from a message the message's id
            starter["thread"] = thread.payload()
        guild.channels[thread.id] = thread
        self.channels[thread.id] = thread
        await self.dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True})
        return web.json_response(thread.payload(), status=201)

    async def _thread_from_message(self, request: web.Request) -> web.Response:
        channel, message = self._message(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if (denied := self._need(channel, Perm.CREATE_PUBLIC_THREADS)) is not None:
            return denied
        if message is None:
            return error(404, 10008, "Unknown Message")
        if int(message["id"]) in self.channels:
            return error(400, 160004, "A thread has already been created for this message")
        body = await _json_body(request)
        return await self._start_thread(channel, str(body.get("name", "thread"))[:100], 11, message)

    async def _thread_without_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        body = await _json_body(request)
        if channel.type == ChannelType.FORUM:
            return await self.forums.create_post(channel, body)
        kind = int(body.get("type", 12))
        need = Perm.CREATE_PUBLIC_THREADS if kind == 11 else Perm.CREATE_PRIVATE_THREADS
        if (denied := self._need(channel, need)) is not None:
            return denied
        return await self._start_thread(channel, str(body.get("name", "thread"))[:100], kind, None)

    async def _archived_public(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        return self.forums.archived_public(channel, request.query)

    # ---- guilds ----------------------------------------------------------------------------

    def _guild(self, request: web.Request) -> Guild | None:
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        return guild if guild is not None and self.bot_user.id in guild.members else None

    async def _get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        data = guild.payload(self.bot_member(guild))
        for key in ("members", "channels", "threads", "voice_states", "presences"):
            data.pop(key)
        return web.json_response(data)

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        return web.json_response([c.payload() for c in guild.channels.values() if not c.is_thread])

    async def _active_threads(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        threads = [c.payload() for c in guild.channels.values() if c.is_thread and not c.archived]
        return web.json_response({"threads": threads, "members": []})

    async def _get_roles(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        return web.json_response([r.payload() for r in guild.roles.values()])

    async def _get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            return error(404, 10007, "Unknown Member")
        return web.json_response(member.payload())


async def _json_body(request: web.Request) -> dict[str, Any]:
    """The JSON body, also from a multipart form's payload_json (messages with files)."""
    if request.content_type.startswith("multipart/"):
        body, _files = await read_body(request)
        return body
    if not request.body_exists:
        return {}
    body = await request.json()
    return body if isinstance(body, dict) else {}


def _check_commands(commands: list[dict[str, Any]]) -> str | None:
    """The first registration rule a command list breaks (names, descriptions, sizes), or None."""
    if len(commands) > 100:
        return "at most 100 commands"
    names = [c.get("name") for c in commands]
    if len(names) != len(set(names)):
        return "command names must be unique"

    def check(options: list[dict[str, Any]], where: str) -> str | None:
        if len(options) > 25:
            return f"{where}: at most 25 options"
        for opt in options:
            if not 1 <= len(opt.get("description", "")) <= 100:
                return f"{where} {opt.get('name')}: description must be 1-100 characters"
            nested = check(opt.get("options") or [], f"{where} {opt.get('name')}")
            if nested:
                return nested
        return None

    for cmd in commands:
        if cmd.get("type", 1) == 1 and not 1 <= len(cmd.get("description", "")) <= 100:
            return f"/{cmd.get('name')}: description must be 1-100 characters"
        problem = check(cmd.get("options") or [], f"/{cmd.get('name')}")
        if problem:
            return problem
    return None
