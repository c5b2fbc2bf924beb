"""People proven by the agency's OpenID Connect provider: their vault account is found by the
provider's issuer and their subject there, made on their first sign-in, and given the roles
their groups map to at every sign-in. Every change goes through the administrative acts, so
the separation-of-duties rule and the administration log apply as for any other. Flushes only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.admin import acts
from vault import accounts
from vault.errors import AccessDenied, Conflict
from vault.models import User


@dataclass(frozen=True)
class ProvenIdentity:
    """What a validated id_token says about a person."""

    issuer: str
    subject: str
    username: str
    display_name: str
    groups: tuple[str, ...]


def roles_for(groups: Iterable[str], group_roles: Mapping[str, Iterable[str]]) -> set[str]:
    """The vault roles a person's groups give; groups the vault does not know give none."""
    return {role for group in groups for role in group_roles.get(group, ())}


def admit(
    session: Session,
    identity: ProvenIdentity,
    *,
    group_roles: Mapping[str, Iterable[str]],
    admin_may_approve: bool,
) -> User:
    """The account this person signs in as, with its roles brought in line with their groups.
    AccessDenied when their groups give no role or the account is disabled; Conflict when the
    user name belongs to another account (a local one, or another provider's person)."""
    actor = f"oidc:{identity.issuer}"
    mapped = roles_for(identity.groups, group_roles)
    if not mapped:
        raise AccessDenied(
            f"{identity.username}'s groups at the identity provider give no role in the vault"
            f" (groups: {', '.join(identity.groups) or 'none'})"
        )
    wanted = set(accounts.parse_roles(mapped))
    user = session.execute(
        select(User).where(
            User.identity_issuer == identity.issuer, User.identity_subject == identity.subject
        )
    ).scalar_one_or_none()
    if user is None:
        taken = session.execute(select(User).where(User.username == identity.username))
        if taken.scalar_one_or_none() is not None:
            raise Conflict(
                f"the user name {identity.username} belongs to another account of this vault:"
                " the provider's person cannot sign in as it (an administrator renames one)"
            )
        user = acts.add_user(session, actor=actor, username=identity.username,
                             roles=sorted(wanted), display_name=identity.display_name,
                             admin_may_approve=admin_may_approve)  # fmt: skip
        user.identity_issuer, user.identity_subject = identity.issuer, identity.subject
        session.flush()
        return user
    if user.disabled_at is not None:
        raise AccessDenied(f"{user.username}'s account is disabled in the vault")
    # The account keeps the name it was made with (custody entries name it), even when the
    # provider's name for the person changes later.
    held = set(user.roles)
    if held != wanted:
        acts.change_roles(session, actor=actor, username=user.username,
                          grant=sorted(wanted - held), remove=sorted(held - wanted),
                          admin_may_approve=admin_may_approve)  # fmt: skip
    return user
