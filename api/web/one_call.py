"""A console page's database work in one worker-thread call (issue 23), as api.http.work does
for the JSON API: the unit of work opened, the person's session cookie checked in it, the
page's queries and template, the commit.

Written the FastAPI way, a page is a sync function with a unit-of-work dependency and the
visitor dependency, and FastAPI takes four trips to a worker thread for it: the unit's start,
the visitor, the page and the unit's end. The console's routers are PageRouters instead: a
sync page that takes the unit (``session: SessionDep``) or the person (``who: Person``) is
registered as a coroutine that hands all of that over at once. The page functions stay as
they are written, sync and easy to read; FastAPI still validates their path, query and form
parameters on the event loop.

A request without the session cookie is sent to sign in before its parameters are
validated, as before (a dependency on the event loop, which FastAPI solves before it checks
parameters); one whose cookie is no longer valid is found out in the unit, so its malformed
parameters get their 422 page first.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, get_type_hints

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.responses import Response

from api.context import AppContext
from api.http.deps import database_slots, db_session
from api.web.guard import SignInNeeded, visitor
from vault.db import unit_of_work
from vault.signin import COOKIE

READS = frozenset({"GET", "HEAD"})
_REQUEST = "one_call_request"  # the Request, for a page that does not ask for it itself
_COOKIE_SEEN = "one_call_cookie_seen"
Page = Callable[..., Response]


class PageRouter(APIRouter):
    """An APIRouter whose sync pages with a unit of work run in one worker call."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if takes_a_unit(endpoint):
            endpoint = in_one_call(endpoint)
        super().add_api_route(path, endpoint, **kwargs)


async def cookie_seen(request: Request) -> None:
    """A request without the session cookie is sent to sign in: no unit, no thread."""
    if not request.cookies.get(COOKIE):
        raise SignInNeeded("not signed in")


def _dependency(hint: Any) -> object:
    for meta in getattr(hint, "__metadata__", ()):
        if isinstance(meta, DependsParam):
            return meta.dependency
    return None


def _unit_parameters(page: Callable[..., Any]) -> dict[str, object]:
    """The page's parameters that the unit provides: name -> db_session or visitor."""
    hints = get_type_hints(page, include_extras=True)
    return {
        name: found
        for name, hint in hints.items()
        if (found := _dependency(hint)) in (db_session, visitor)
    }


def takes_a_unit(endpoint: Callable[..., Any]) -> bool:
    return not inspect.iscoroutinefunction(endpoint) and bool(_unit_parameters(endpoint))


def in_one_call(page: Page) -> Callable[..., Any]:
    """``page`` as a coroutine whose signature, as FastAPI reads it, is the page's without
    the unit's parameters (and with a Request): FastAPI resolves and validates the rest."""
    hints = get_type_hints(page, include_extras=True)
    provided = _unit_parameters(page)
    session_names = [name for name, kind in provided.items() if kind is db_session]
    who_names = [name for name, kind in provided.items() if kind is visitor]
    kept = [
        parameter.replace(annotation=hints.get(parameter.name, parameter.annotation))
        for parameter in inspect.signature(page).parameters.values()
        if parameter.name not in provided
    ]
    own_request = next((p.name for p in kept if p.annotation is Request), None)
    if own_request is None:
        kept.append(inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY,
                                      annotation=Request))  # fmt: skip
    if who_names:  # FastAPI solves dependencies before it validates the parameters
        seen = Annotated[None, Depends(cookie_seen)]
        kept.append(inspect.Parameter(_COOKIE_SEEN, inspect.Parameter.KEYWORD_ONLY,
                                      annotation=seen))  # fmt: skip

    def run(request: Request, context: AppContext, values: dict[str, Any]) -> Response:
        with unit_of_work(context.factory, read_only=request.method in READS) as session:
            for name in session_names:
                values[name] = session
            if who_names:
                who = visitor(request, session, context)
                for name in who_names:
                    values[name] = who
            return page(**values)

    async def one_call(**values: Any) -> Response:
        request: Request = values[own_request] if own_request else values.pop(_REQUEST)
        values.pop(_COOKIE_SEEN, None)
        context: AppContext = request.app.state.context
        async with database_slots(request, context):
            return await anyio.to_thread.run_sync(partial(run, request, context, values))

    one_call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        kept, return_annotation=hints.get("return", Response)
    )
    one_call.__name__, one_call.__qualname__ = page.__name__, page.__qualname__
    one_call.__module__, one_call.__doc__ = page.__module__, page.__doc__
    return one_call
