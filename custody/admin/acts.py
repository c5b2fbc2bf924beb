"""Administrative acts, each recorded in the administration log in the same unit of work as
the change itself: the one entry point for the CLI and the HTTP API alike. Flushes only."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.admin.log import append_admin
from vault import accounts, alerts, signin
from vault.accounts import holding
from vault.alert_models import Alert
from vault.errors import AccessDenied, Conflict
from vault.models import ApiToken, Role, User

# Who sees an alert through: the custodians who run the stations and ingest, and admins.
ALERT_KEEPERS = frozenset({Role.CUSTODIAN, Role.ADMIN})

# Who may never hold these together: an admin who could also approve would need nobody else
# to hand evidence out (the admin makes the requester; the approver is the admin).
EXCLUSIVE = [(Role.ADMIN, Role.APPROVER)]


def _allowed(roles: Iterable[str], *, admin_may_approve: bool) -> set[str]:
    wanted = set(accounts.parse_roles(roles))
    for one, other in EXCLUSIVE:
        if {one.value, other.value} <= wanted and not admin_may_approve:
            raise Conflict(
                f"nobody may hold both {one.value} and {other.value}: separation of duties"
                " (admin_may_approve = true lifts this, and every act still names its actor)"
            )
    return wanted


def add_user(
    session: Session,
    *,
    actor: str,
    username: str,
    roles: Iterable[str],
    display_name: str = "",
    admin_may_approve: bool = False,
) -> User:
    wanted = _allowed(roles, admin_may_approve=admin_may_approve)
    user = accounts.add_user(
        session, username=username, roles=sorted(wanted), display_name=display_name
    )
    append_admin(session, actor=actor, action="user_added", subject=username,
                 data={"roles": user.roles, "display_name": display_name})  # fmt: skip
    return user


def change_roles(
    session: Session,
    *,
    actor: str,
    username: str,
    grant: Iterable[str] = (),
    remove: Iterable[str] = (),
    admin_may_approve: bool = False,
) -> User:
    """Grant and remove roles in one act: one administration entry names both lists and the
    roles the user holds after it. Granting a role held already, or removing one not held,
    changes nothing and is not recorded as a change."""
    user = accounts.find_user(session, username)
    granting = set(accounts.parse_roles(grant)) if grant else set()
    removing = set(accounts.parse_roles(remove)) if remove else set()
    if granting & removing:
        raise Conflict(f"cannot grant and remove {', '.join(sorted(granting & removing))} at once")
    before = set(user.roles)
    if not (before | granting) - removing:  # depends on the roles held now: a conflict
        raise Conflict(
            f"{username} would hold no role: a user needs at least one (disable the user instead)"
        )
    after = _allowed((before | granting) - removing, admin_may_approve=admin_may_approve)
    if after == before:
        return user
    accounts.set_roles(session, username, after)
    append_admin(
        session, actor=actor, action="roles_changed", subject=username,
        data={"granted": sorted(after - before), "removed": sorted(before - after),
              "roles": sorted(after)},
    )  # fmt: skip
    return user


def set_password(session: Session, *, actor: str, username: str, password: str) -> User:
    """A person's console password; the entry records that it was set, never the password."""
    user = accounts.find_user(session, username)
    if user.identity_issuer is not None:
        raise Conflict(
            f"{username} signs in through the identity provider {user.identity_issuer}: a"
            " console password would let the name sign in without it"
        )
    signin.set_password(session, user, password)
    append_admin(session, actor=actor, action="password_set", subject=username, data={})
    return user


def disable_user(session: Session, *, actor: str, username: str) -> User:
    user = accounts.disable_user(session, username)
    signin.end_sessions(session, user)  # signed out of the console everywhere, at once
    append_admin(session, actor=actor, action="user_disabled", subject=username, data={})
    return user


def enable_user(session: Session, *, actor: str, username: str) -> User:
    was_disabled = accounts.find_user(session, username).disabled_at is not None
    user = accounts.enable_user(session, username)
    if was_disabled:  # the log records what changed, not a request that changed nothing
        append_admin(session, actor=actor, action="user_enabled", subject=username, data={})
    return user


def issue_token(
    session: Session, *, actor: str, username: str, label: str = "", days: int
) -> accounts.IssuedToken:
    issued = accounts.issue_token(session, username=username, label=label, days=days)
    append_admin(
        session, actor=actor, action="token_issued", subject=username,
        data={"prefix": issued.token.prefix, "label": label, "days": days},
    )  # fmt: skip
    return issued


def issue_own_token(
    session: Session, *, holder: User, username: str, label: str = "", days: int
) -> accounts.IssuedToken:
    """Over the API a token is issued only to its holder: an admin who could mint tokens for
    others could act as an investigator and as an approver alone."""
    if holder.username != username:
        raise AccessDenied(
            "a token is issued only to its holder: sign in as that user, or have them run"
            " `evault token issue` on the vault's host"
        )
    return issue_token(session, actor=f"user:{holder.username}", username=username,
                       label=label, days=days)  # fmt: skip


def revoke_token(session: Session, *, actor: str, prefix: str) -> ApiToken:
    token = accounts.revoke_token(session, prefix)
    append_admin(session, actor=actor, action="token_revoked", subject=token.user.username,
                 data={"prefix": token.prefix})  # fmt: skip
    return token


def acknowledge_alert(session: Session, *, user: User, ref: str, reason: str) -> Alert:
    """A custodian or admin says an alert has been seen to, and why; the act names the alert,
    what it was about and the reason. The alert itself is kept."""
    holding(user, ALERT_KEEPERS)
    alert = alerts.find_alert(session, ref)
    alerts.acknowledge(session, alert, by=user.username, reason=reason)
    append_admin(
        session, actor=f"user:{user.username}", action="alert_acknowledged",
        subject=str(alert.id),
        data={"kind": alert.kind, "key": alert.key, "reason": alert.acknowledgement},
    )  # fmt: skip
    return alert


def settle_alert(session: Session, *, actor: str, key: str, reason: str) -> Alert | None:
    """Acknowledge the open alert ``key`` because the vault itself has just removed its cause
    (a rescan gave the recording a verdict): the reason says what was done, the act names who
    ran it. None when no such alert is open."""
    alert = session.execute(select(Alert).where(Alert.key == key)).scalar_one_or_none()
    if alert is None or alert.acknowledged_at is not None:
        return None
    alerts.acknowledge(session, alert, by=actor, reason=reason)
    append_admin(
        session, actor=actor, action="alert_acknowledged", subject=str(alert.id),
        data={"kind": alert.kind, "key": alert.key, "reason": alert.acknowledgement},
    )  # fmt: skip
    return alert


def first_admin(session: Session, *, actor: str, username: str) -> str | None:
    """On a vault where no active user holds admin, add ``username`` as admin with a new
    random console password and return it (shown once: only its argon2id hash is kept).
    None when an active admin exists already; Conflict when the name is taken."""
    active = session.execute(select(User).where(User.disabled_at.is_(None))).scalars()
    if any(Role.ADMIN.value in u.roles for u in active):
        return None
    if session.execute(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(
            f"no active admin, and the name {username} is taken: choose another with --admin"
        )
    add_user(session, actor=actor, username=username, roles=[Role.ADMIN.value],
             display_name="first administrator")  # fmt: skip
    return reset_password(session, actor=actor, username=username)


def reset_password(session: Session, *, actor: str, username: str) -> str:
    """A new random console password for ``username``, returned to be shown once (only its
    argon2id hash is kept; the person's open sessions end)."""
    password = secrets.token_urlsafe(15)  # 20 characters, 120 bits
    set_password(session, actor=actor, username=username, password=password)
    return password
