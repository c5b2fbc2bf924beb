"""Request dependencies the JSON API and the console share: the app's context, the bound on
requests using the database at once, the console's unit of work per request, and the bearer
token's first check (before any database work)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.context import AppContext
from vault.accounts import well_formed
from vault.db import unit_of_work
from vault.errors import NotAuthenticated
from vault.models import Role

bearer = HTTPBearer(auto_error=False, description="An API token from `evault token issue`.")


async def app_context(request: Request) -> AppContext:
    # async: FastAPI would run a plain function on a worker thread, a hand-off per request.
    context: AppContext = request.app.state.context
    return context


async def database_slot(
    request: Request, context: Annotated[AppContext, Depends(app_context)]
) -> AsyncIterator[None]:
    """At most ``db_pool_size`` requests use the database at once; the rest wait here.

    Without this, a burst of requests fills every worker thread with requests waiting for a
    pooled connection, while the requests holding the connections wait for a thread to run
    their next step: the whole API stops (seen with 50 clients and a 15-connection pool).
    Waiting here holds neither a thread nor a connection.
    """
    async with database_slots(request, context):
        yield


def database_slots(request: Request, context: AppContext) -> anyio.Semaphore:
    """The app's bound on requests using the database at once (see database_slot)."""
    state = request.app.state
    if getattr(state, "database_slots", None) is None:  # made inside the running loop
        state.database_slots = anyio.Semaphore(context.settings.db_pool_size)
    slots: anyio.Semaphore = state.database_slots
    return slots


def db_session(
    request: Request,
    context: Annotated[AppContext, Depends(app_context)],
    _slot: Annotated[None, Depends(database_slot, scope="function")],
) -> Iterator[Session]:
    """The request's unit of work: commits when the route returns, rolls back on error.

    GET and HEAD only read (a delivery records its custody event in a unit of its own). It
    ends when the route function returns, before a streamed body is sent, so a long download
    holds no connection."""
    read_only = request.method in {"GET", "HEAD"}
    with unit_of_work(context.factory, read_only=read_only) as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session, scope="function")]


async def bearer_secret(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The request's token, refused (401) when missing or not shaped like one of ours, before
    any database work: a caller without a credential costs no connection and no thread."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("an `Authorization: Bearer <token>` header is required")
    if not well_formed(credentials.credentials):
        raise NotAuthenticated("unknown token")  # as the lookup would say
    return credentials.credentials


Secret = Annotated[str, Depends(bearer_secret)]


EVERYONE = tuple(Role)
EVIDENCE_READERS = (Role.CUSTODIAN, Role.INVESTIGATOR, Role.APPROVER, Role.AUDITOR)
