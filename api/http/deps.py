"""Request dependencies: one unit of work per request, the caller's identity and roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.context import AppContext
from vault.accounts import authenticate
from vault.db import unit_of_work
from vault.errors import AccessDenied, NotAuthenticated
from vault.models import Role, User

bearer = HTTPBearer(auto_error=False, description="An API token from `evault token issue`.")


def app_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def db_session(
    request: Request, context: Annotated[AppContext, Depends(app_context)]
) -> Iterator[Session]:
    """The request's unit of work: commits when the route returns, rolls back on error.

    GET and HEAD only read (a delivery records its custody event in a unit of its own)."""
    read_only = request.method in {"GET", "HEAD"}
    with unit_of_work(context.factory, read_only=read_only) as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("an `Authorization: Bearer <token>` header is required")
    return authenticate(session, credentials.credentials)


def require(*roles: Role) -> Callable[..., User]:
    """A dependency admitting users who hold at least one of ``roles``."""
    wanted = frozenset(roles)

    def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.has_any(wanted):
            names = ", ".join(sorted(r.value for r in wanted))
            raise AccessDenied(f"this needs one of the roles: {names}")
        return user

    dependency.allowed_roles = wanted  # type: ignore[attr-defined]
    return dependency


EVERYONE = (Role.CUSTODIAN, Role.INVESTIGATOR, Role.APPROVER, Role.AUDITOR, Role.ADMIN)
EVIDENCE_READERS = (Role.CUSTODIAN, Role.INVESTIGATOR, Role.APPROVER, Role.AUDITOR)
