"""A JSON API route's database work in one worker-thread call (issue 23): the unit of work
opened, the caller authenticated in it, the route's queries, its answer made, the commit.

A sync route with a unit-of-work dependency and a role dependency costs FastAPI five trips
to a worker thread: the unit's start, the caller's look-up, the route, the check of its
answer against the response model and the unit's end (and the request gate's token look-up
for a request with a body). On the 2-core VM, bench/api.py's two ordinary routes answered
999-1,004 requests a second that way and 1,294-1,365 this way. Here the route is a
coroutine that validates its input on the event loop and hands its work over once::

    @router.get("/cases", response_model=list[CaseOut])
    async def get_cases(work: Reader) -> list[CaseOut]:
        return await work(lambda session, _user: [case_out(c) for c in list_cases(session)])

The caller is checked twice. On the event loop, against the token cache (a look-up at most
once a second per token, api.http.callers), so that a refusal (401, 403) still comes before
the body's validation (422), as it did when it was a dependency. Then in the unit itself,
against the database as it is now: a revoked token or a disabled user acts on nothing and
reads nothing, however recently the cache remembered them, and the route's services get
the user as an ORM object of their unit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.callers import Caller, known_caller
from api.http.deps import Secret, app_context, database_slots
from vault.accounts import authenticate, holding
from vault.db import unit_of_work
from vault.models import Role, User

T = TypeVar("T")
Job = Callable[[Session, User], T]
READS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Work:
    """What a route needs to run its work in one worker call: call it with the job."""

    request: Request
    context: AppContext
    secret: str
    wanted: frozenset[Role]
    read_only: bool

    async def __call__(self, job: Job[T]) -> T:
        # The database slot first, as for every route: waiting for it holds no thread.
        async with database_slots(self.request, self.context):
            return await anyio.to_thread.run_sync(self._in_unit, job)

    def _in_unit(self, job: Job[T]) -> T:
        with unit_of_work(self.context.factory, read_only=self.read_only) as session:
            user = holding(authenticate(session, self.secret), self.wanted)
            return job(session, user)


def work_for(*roles: Role, read_only: bool | None = None) -> Callable[..., Awaitable[Work]]:
    """A dependency giving a route of callers holding one of ``roles`` its ``Work``.

    The unit reads only for GET and HEAD unless ``read_only`` says otherwise: a route that
    runs units of work of its own (an export, a destruction) authenticates its caller in a
    read-only unit, which on SQLite takes no write lock."""
    wanted = frozenset(roles)

    async def dependency(
        caller: Caller,  # checked on the event loop: see the module's docstring
        secret: Secret,
        request: Request,
        context: Annotated[AppContext, Depends(app_context)],
    ) -> Work:
        reads = request.method in READS if read_only is None else read_only
        return Work(request, context, secret, wanted, reads)

    # Given as the object: ``from __future__ import annotations`` leaves a string, which
    # FastAPI resolves in the module's globals, where ``roles`` is not.
    dependency.__annotations__["caller"] = Annotated[Caller, Depends(known_caller(*roles))]
    dependency.allowed_roles = wanted  # type: ignore[attr-defined]
    return dependency
