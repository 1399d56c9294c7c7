"""The web window's token: when one is configured, every request must carry it.

`Authorization: Bearer <token>` for tools (Prometheus, health probes); for a browser,
`?token=<token>` once: the answer sets an HttpOnly cookie and redirects to the same address
without it, so the token stays out of the address bar, bookmarks and the pages' links. The
cookie holds a digest of the token, not the token. Anything else gets 401. The token is never
logged: the server keeps no access log, and nothing here writes it anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

COOKIE = "bulletin_session"
QUERY = "token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def session_value(token: str) -> str:
    """What the cookie holds: a keyed digest of the token (the token itself stays secret)."""
    return hmac.new(token.encode(), b"bulletin web session", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def token_guard(token: str) -> Middleware:
    """A middleware that lets through only requests carrying TOKEN."""
    session = session_value(token)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip(), token):
            return await handler(request)
        if _same(request.cookies.get(COOKIE, ""), session):
            return await handler(request)
        offered = request.query.get(QUERY)
        if offered is not None and _same(offered, token):
            kept = [(key, value) for key, value in request.query.items() if key != QUERY]
            location = str(request.rel_url.with_query(kept))
            response = web.Response(status=303, headers={"Location": location})
            response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", path="/")
            return response
        return web.json_response(
            {"error": "a token is needed: Authorization: Bearer <token>, or ?token=<token>"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="bulletin"'},
        )

    return guard


__all__ = ["COOKIE", "Handler", "session_value", "token_guard"]
