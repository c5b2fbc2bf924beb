"""Users and tokens (admin only). Tokens are shown once, in the answer that issues them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.http.deps import SessionDep, require
from api.http.problems import PROBLEM_SCHEMA
from api.http.schemas import TokenIn, TokenOut, UserIn, UserOut
from vault import accounts
from vault.models import Role, User

router = APIRouter(
    tags=["users"], responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA}
)
Admin = Annotated[User, Depends(require(Role.ADMIN))]


def _user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


@router.get("/users", response_model=list[UserOut])
def get_users(_: Admin, session: SessionDep) -> list[UserOut]:
    return [_user_out(u) for u in accounts.list_users(session)]


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: PROBLEM_SCHEMA},
)
def post_user(_: Admin, session: SessionDep, body: UserIn) -> UserOut:
    user = accounts.add_user(
        session, username=body.username, roles=body.roles, display_name=body.display_name
    )
    return _user_out(user)


@router.post("/users/{username}/disable", response_model=UserOut)
def disable_user(_: Admin, session: SessionDep, username: str) -> UserOut:
    """Disable a user; their tokens stop working at once. Nothing they did is erased."""
    return _user_out(accounts.disable_user(session, username))


@router.post(
    "/users/{username}/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: PROBLEM_SCHEMA},
)
def post_token(_: Admin, session: SessionDep, username: str, body: TokenIn) -> TokenOut:
    issued = accounts.issue_token(session, username=username, label=body.label, days=body.days)
    token = issued.token
    return TokenOut(
        prefix=token.prefix, label=token.label, expires_at=token.expires_at, token=issued.secret
    )


@router.post("/tokens/{prefix}/revoke", response_model=TokenOut)
def revoke_token(_: Admin, session: SessionDep, prefix: str) -> TokenOut:
    token = accounts.revoke_token(session, prefix)
    return TokenOut(prefix=token.prefix, label=token.label, expires_at=token.expires_at)
