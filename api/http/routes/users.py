"""Users and tokens (admin only). Tokens are shown once, in the answer that issues them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.deps import EVERYONE, app_context
from api.http.problems import PROBLEM_SCHEMA
from api.http.schemas import RolesIn, TokenIn, TokenOut, UserIn, UserOut
from api.http.work import Work, work_for
from custody.admin import acts
from vault import accounts
from vault.models import Role, User

router = APIRouter(
    tags=["users"], responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA}
)
Admin = Annotated[Work, Depends(work_for(Role.ADMIN))]
Anyone = Annotated[Work, Depends(work_for(*EVERYONE))]
Context = Annotated[AppContext, Depends(app_context)]


def _user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


@router.get("/users", response_model=list[UserOut])
async def get_users(work: Admin) -> list[UserOut]:
    return await work(lambda session, _: [_user_out(u) for u in accounts.list_users(session)])


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: PROBLEM_SCHEMA},
)
async def post_user(work: Admin, context: Context, body: UserIn) -> UserOut:
    """Add a user (recorded in the administration log). The new user has no token: they get
    one by signing in, or by running `evault token issue` on the vault's host."""
    return await work(
        lambda session, admin: _user_out(acts.add_user(
            session, actor=f"user:{admin.username}", username=body.username, roles=body.roles,
            display_name=body.display_name, admin_may_approve=context.settings.admin_may_approve,
        ))
    )  # fmt: skip


@router.post("/users/{username}/roles", response_model=UserOut, responses={409: PROBLEM_SCHEMA})
async def change_roles(work: Admin, context: Context, username: str, body: RolesIn) -> UserOut:
    """Grant and remove roles (recorded in the administration log). Nobody holds admin and
    approver together, and the last active admin keeps admin: both are 409."""
    return await work(
        lambda session, admin: _user_out(acts.change_roles(
            session, actor=f"user:{admin.username}", username=username,
            grant=[r.value for r in body.grant], remove=[r.value for r in body.remove],
            admin_may_approve=context.settings.admin_may_approve,
        ))
    )  # fmt: skip


@router.post("/users/{username}/disable", response_model=UserOut)
async def disable_user(work: Admin, username: str) -> UserOut:
    """Disable a user; their tokens stop working at once. Nothing they did is erased."""
    return await work(
        lambda session, admin: _user_out(
            acts.disable_user(session, actor=f"user:{admin.username}", username=username)
        )
    )


@router.post(
    "/users/{username}/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: PROBLEM_SCHEMA},
)
async def post_token(work: Anyone, username: str, body: TokenIn) -> TokenOut:
    """Issue yourself another token (only your own: an admin cannot mint tokens for others)."""
    return await work(lambda session, holder: issued_out(session, holder, username, body))


def issued_out(session: Session, holder: User, username: str, body: TokenIn) -> TokenOut:
    issued = acts.issue_own_token(
        session, holder=holder, username=username, label=body.label, days=body.days
    )
    token = issued.token
    return TokenOut(
        prefix=token.prefix, label=token.label, expires_at=token.expires_at, token=issued.secret
    )


@router.post("/tokens/{prefix}/revoke", response_model=TokenOut)
async def revoke_token(work: Admin, prefix: str) -> TokenOut:
    def revoked(session: Session, admin: User) -> TokenOut:
        token = acts.revoke_token(session, actor=f"user:{admin.username}", prefix=prefix)
        return TokenOut(prefix=token.prefix, label=token.label, expires_at=token.expires_at)

    return await work(revoked)
