"""Who is calling, remembered for a second per token (and per worker process): a client
polling many times a second costs the database one look-up a second, and a revoked token or
a disabled user is refused within a second. /health and the two hottest reads (an item and
its custody chain) need no more than that. Every other route checks its caller here first,
so that a refusal still comes before its body's validation, then again in its own unit of
work (api.http.work), with the ORM user its services need. The request gate asks here too,
before it reads a body."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.http.deps import Secret, app_context, database_slots
from vault.accounts import authenticate, token_hash, token_prefix
from vault.credential import current_token
from vault.db import unit_of_work
from vault.errors import AccessDenied
from vault.roles import Role

T = TypeVar("T")
REMEMBERED_S = 1.0  # how long a looked-up token is trusted without looking again
MAX_REMEMBERED = 4096


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    username: str
    roles: frozenset[str]


class TokenCache:
    """Token hash -> the caller and when the entry was made; per process, bounded."""

    def __init__(self, ttl: float = REMEMBERED_S, size: int = MAX_REMEMBERED) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[bytes, tuple[float, Caller]] = {}
        self._looking: dict[bytes, anyio.Lock] = {}

    async def caller(self, secret: str, look_up: Callable[[], Awaitable[Caller]]) -> Caller:
        """The remembered caller, or ``look_up``'s, awaited once for all the requests that
        arrive with this token while it runs: when an entry expires under load, the twenty
        requests in flight with it would otherwise each look it up (a thread and a query
        each). A refusal is not remembered: the next waiter asks again."""
        found = self.get(secret)
        if found is not None:
            return found
        key = token_hash(secret)
        lock = self._looking.setdefault(key, anyio.Lock())
        try:
            async with lock:
                found = self.get(secret)  # looked up while this request waited
                if found is None:
                    found = await look_up()
                    self.put(secret, found)
                return found
        finally:
            if not lock.locked() and not lock.statistics().tasks_waiting:
                self._looking.pop(key, None)

    def get(self, secret: str) -> Caller | None:
        found = self._entries.get(token_hash(secret))
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    def forget(self, secret: str) -> None:
        self._entries.pop(token_hash(secret), None)

    def put(self, secret: str, caller: Caller) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()  # bounded: a flood of distinct tokens cannot grow it
        self._entries[token_hash(secret)] = (time.monotonic(), caller)


def _look_up(context: AppContext, secret: str) -> Caller:
    with unit_of_work(context.factory, read_only=True) as session:
        user = authenticate(session, secret)
        return Caller(user.id, user.username, frozenset(user.roles))


def known_caller(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting a caller holding one of ``roles``; the database is asked at most
    once a second per token (and per worker), on its own short unit of work. A caller lacking
    the role as remembered is asked about afresh before the 403: a refusal is not remembered,
    so a role granted a moment ago counts at once."""
    wanted = frozenset(r.value for r in roles)

    async def dependency(
        secret: Secret, request: Request, context: Annotated[AppContext, Depends(app_context)]
    ) -> Caller:
        caller = await remembered_caller(request, context, secret)
        if not caller.roles & wanted:  # as remembered: a role granted since then counts now
            caller = await remembered_caller(request, context, secret, afresh=True)
        if not caller.roles & wanted:
            names = ", ".join(sorted(wanted))
            raise AccessDenied(f"this needs one of the roles: {names}")
        current_token.set(token_prefix(secret))  # what the custody log records as `via`
        return caller

    dependency.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
    return dependency


async def remembered_caller(
    request: Request, context: AppContext, secret: str, *, afresh: bool = False
) -> Caller:
    """The token's caller as remembered (for a second), or looked up on its own short unit of
    work; NotAuthenticated if the token is not valid. The request gate asks it for every
    request with a body, before reading the body, and the routes' role check then finds it
    remembered. ``afresh`` looks it up again whatever is remembered."""
    state = request.app.state
    cache: TokenCache | None = getattr(state, "token_cache", None)
    if cache is None:
        cache = state.token_cache = TokenCache()
    if afresh:
        cache.forget(secret)

    async def look_up() -> Caller:
        async with database_slots(request, context):
            return await run_in_threadpool(_look_up, context, secret)

    return await cache.caller(secret, look_up)


def read_once(
    request: Request,
    context: AppContext,
    read: Callable[[Session, str], T],
    reference: str,
) -> Awaitable[T]:
    """``read`` in a read-only unit of work, all of it in one worker-thread call (the
    database slot taken first, as for every route)."""

    async def run() -> T:
        async with database_slots(request, context):
            threads = read_threads(request, context)
            return await anyio.to_thread.run_sync(
                _in_unit, context, read, reference, limiter=threads
            )

    return run()


SQLITE_READ_THREADS = 2


def read_threads(request: Request, context: AppContext) -> anyio.CapacityLimiter:
    """How many of these reads run at once in this process: on SQLite, two. A read there is
    Python under the GIL (SQLite's own part is 8 us of a 160 us read), so more threads only
    take the GIL from each other and from the event loop: with ten at once (the database
    slots), bench/api.py measured 20-30% fewer answers a second and a p99 of 195-243 ms
    against 74-130 ms with two. PostgreSQL's reads wait on the network, so there every
    database slot may run one."""
    state = request.app.state
    if getattr(state, "read_threads", None) is None:  # made inside the running loop
        sqlite = context.engine.dialect.name == "sqlite"
        size = SQLITE_READ_THREADS if sqlite else context.settings.db_pool_size
        state.read_threads = anyio.CapacityLimiter(size)
    threads: anyio.CapacityLimiter = state.read_threads
    return threads


def _in_unit(context: AppContext, read: Callable[[Session, str], T], reference: str) -> T:
    with unit_of_work(context.factory, read_only=True) as session:
        return read(session, reference)
