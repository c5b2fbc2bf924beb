"""The gate every request passes before FastAPI reads its body: a body over the limit is a 413
unread (by its Content-Length, or as soon as a chunked one passes the limit), and a request
with a body and no valid bearer token is a 401 unread. Before, an unauthenticated 200 MiB JSON
body was read whole into memory, and a malformed body got a 422 before the 401. A token is
looked up as the routes look it up, remembered for a second: one revoked within that second
passes here, and its route refuses it in its unit of work (after reading a body within the
limit)."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import AppContext
from api.http.callers import remembered_caller
from api.http.problems import PROBLEM_JSON, TYPE_BASE
from api.web.guard import policy as console_policy
from vault.accounts import well_formed
from vault.db import unit_of_work
from vault.errors import NotAuthenticated
from vault.signin import COOKIE, current_session

SIGN_IN_LIMIT = 16 * 1024
NO_CREDENTIAL = "an `Authorization: Bearer <token>` header (or a console session) is required"


class BodyTooLarge(HTTPException):
    """Raised while the route reads a chunked body past the limit: FastAPI lets an
    HTTPException through its body parsing, and the problem handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"a request body may hold at most {limit} bytes")


async def _answer(send: Send, status: int, kind: str, detail: str, path: str) -> None:
    """The same problem+json as api.http.problems gives, and the connection closed: the
    unread body is not waited for."""
    body = json.dumps(
        {"type": TYPE_BASE + kind, "title": HTTPStatus(status).phrase, "status": status,
         "detail": detail, "instance": path}
    ).encode()  # fmt: skip
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _session_cookie(cookies: bytes | None) -> str | None:
    """The console session's cookie in a Cookie header, if there is one."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load((cookies or b"").decode("latin-1"))
    except CookieError:
        jar.clear()
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


class RequestGate:
    def __init__(self, app: ASGIApp, *, context: Callable[[], AppContext], limit: int) -> None:
        self.app, self.context, self.limit = app, context, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        path = scope.get("path", "")
        # The console's sign-in form is the one body anyone may send: a small one.
        limit = SIGN_IN_LIMIT if path == "/signin" else self.limit
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _answer(send, 413, "body-too-large",
                          f"a request body may hold at most {limit} bytes", path)  # fmt: skip
            return
        if path == "/signin":
            await self.app(scope, self._counted(receive, limit), send)
            return
        problem = await self._unauthenticated(
            Request(scope), headers.get(b"authorization"), headers.get(b"cookie")
        )
        if problem is not None:
            await _answer(send, 401, "not-authenticated", problem, path)
            return
        await self.app(scope, self._counted(receive, self.limit), send)

    async def _unauthenticated(
        self, request: Request, header: bytes | None, cookies: bytes | None
    ) -> str | None:
        """Why the request is not authenticated, or None (the route checks again, with roles):
        a bearer token, or a console session's cookie. A token goes through the cache of
        look-ups the routes use: remembered, it costs no thread, and looked up here, the
        route's own check finds it remembered."""
        scheme, _, secret = (header or b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            cookie = _session_cookie(cookies)
            if cookie is None:  # refused on the event loop: no thread, no unit
                return NO_CREDENTIAL
            return await run_in_threadpool(self._no_session, cookie)
        if not well_formed(secret.strip()):
            return "unknown token"  # as the lookup would say, without one
        try:
            await remembered_caller(request, self.context(), secret.strip())
        except NotAuthenticated as exc:
            return str(exc)
        return None

    def _no_session(self, cookie: str) -> str | None:
        context = self.context()
        try:
            with unit_of_work(context.factory, read_only=True) as session:
                current_session(
                    session, cookie, policy=console_policy(context.settings), touch=False
                )
        except NotAuthenticated as exc:
            return str(exc)
        return None

    def _counted(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return counted
