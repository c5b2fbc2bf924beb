"""Users and tokens (admin only). Tokens are shown once, in the answer that issues them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.context import AppContext
from api.http.deps import EVERYONE, SessionDep, app_context, require
from api.http.problems import PROBLEM_SCHEMA
from api.http.schemas import RolesIn, TokenIn, TokenOut, UserIn, UserOut
from custody.admin import acts
from vault import accounts
from vault.models import Role, User

router = APIRouter(
    tags=["users"], responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA}
)
Admin = Annotated[User, Depends(require(Role.ADMIN))]
Anyone = Annotated[User, Depends(require(*EVERYONE))]
Context = Annotated[AppContext, Depends(app_context)]


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
def post_user(admin: Admin, session: SessionDep, context: Context, body: UserIn) -> UserOut:
    """Add a user (recorded in the administration log). The new user has no token: they get
    one by signing in, or by running `evault token issue` on the vault's host."""
    user = acts.add_user(
        session, actor=f"user:{admin.username}", username=body.username, roles=body.roles,
        display_name=body.display_name, admin_may_approve=context.settings.admin_may_approve,
    )  # fmt: skip
    return _user_out(user)


@router.post("/users/{username}/roles", response_model=UserOut, responses={409: PROBLEM_SCHEMA})
def change_roles(
    admin: Admin, session: SessionDep, context: Context, username: str, body: RolesIn
) -> UserOut:
    """Grant and remove roles (recorded in the administration log). Nobody holds admin and
    approver together, and the last active admin keeps admin: both are 409."""
    user = acts.change_roles(
        session, actor=f"user:{admin.username}", username=username,
        grant=[r.value for r in body.grant], remove=[r.value for r in body.remove],
        admin_may_approve=context.settings.admin_may_approve,
    )  # fmt: skip
    return _user_out(user)


@router.post("/users/{username}/disable", response_model=UserOut)
def disable_user(admin: Admin, session: SessionDep, username: str) -> UserOut:
    """Disable a user; their tokens stop working at once. Nothing they did is erased."""
    return _user_out(acts.disable_user(session, actor=f"user:{admin.username}", username=username))


@router.post(
    "/users/{username}/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: PROBLEM_SCHEMA},
)
def post_token(holder: Anyone, session: SessionDep, username: str, body: TokenIn) -> TokenOut:
    """Issue yourself another token (only your own: an admin cannot mint tokens for others)."""
    issued = acts.issue_own_token(
        session, holder=holder, username=username, label=body.label, days=body.days
    )
    token = issued.token
    return TokenOut(
        prefix=token.prefix, label=token.label, expires_at=token.expires_at, token=issued.secret
    )


@router.post("/tokens/{prefix}/revoke", response_model=TokenOut)
def revoke_token(admin: Admin, session: SessionDep, prefix: str) -> TokenOut:
    token = acts.revoke_token(session, actor=f"user:{admin.username}", prefix=prefix)
    return TokenOut(prefix=token.prefix, label=token.label, expires_at=token.expires_at)
