"""People signing in to the web console: argon2id passwords, sessions, lockout. Flushes only;
the caller's unit of work commits (a refused sign-in commits its failure count too)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vault.db import utcnow
from vault.errors import InputRejected, NotAuthenticated
from vault.models import User, WebSession

MIN_PASSWORD = 12
COOKIE = "evault_session"
TOUCH_EVERY = timedelta(seconds=30)
# Hashed for an unknown user name, so that it takes as long as a wrong password.
_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended parameters
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Policy:
    idle: timedelta
    absolute: timedelta
    lockout_after: int
    lockout: timedelta


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD or not password.strip():
        raise InputRejected(f"a password has at least {MIN_PASSWORD} characters")
    user.password_hash = _hasher.hash(password)
    user.failed_signins, user.locked_until = 0, None
    end_sessions(session, user)  # a new password signs the person out everywhere
    session.flush()


def _secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class Attempt:
    """What a sign-in did: the user (when the name is known), and the session's cookie
    secret when it succeeded."""

    user: User | None
    secret: str | None
    locked_until: datetime | None = None


def sign_in(
    session: Session, username: str, password: str, *, client: str, policy: Policy
) -> Attempt:
    now = utcnow()
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or user.password_hash is None or user.disabled_at is not None:
        _matches(_DUMMY, password)
        return Attempt(user, None)
    if user.locked_until is not None and user.locked_until > now:
        return Attempt(user, None, user.locked_until)
    if not _matches(user.password_hash, password):
        user.failed_signins += 1
        if user.failed_signins >= policy.lockout_after:
            user.locked_until, user.failed_signins = now + policy.lockout, 0
        session.flush()
        return Attempt(user, None, user.locked_until if user.locked_until else None)
    user.failed_signins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return Attempt(user, open_session(session, user, client=client))


def open_session(session: Session, user: User, *, client: str) -> str:
    """A new console session for a person whose identity was proven (by their password or by
    their identity provider); returns the cookie's secret."""
    now = utcnow()
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            user_id=user.id, secret_hash=_secret_hash(secret), csrf=secrets.token_urlsafe(32),
            client=client[:100], created_at=now, last_seen_at=now,
        )
    )  # fmt: skip
    session.flush()
    return secret


def _matches(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def current_session(
    session: Session, secret: str, *, policy: Policy, touch: bool = False
) -> WebSession:
    """The live session a cookie names; every refusal says why."""
    found = session.execute(
        select(WebSession).where(WebSession.secret_hash == _secret_hash(secret))
    ).scalar_one_or_none()
    now = utcnow()
    if found is None or found.ended_at is not None:
        raise NotAuthenticated("not signed in")
    if found.user.disabled_at is not None:
        raise NotAuthenticated("this account is disabled")
    if now - found.last_seen_at > policy.idle or now - found.created_at > policy.absolute:
        raise NotAuthenticated("the session expired: sign in again")
    if touch and touch_due(found, now):
        found.last_seen_at = now
        session.flush()
    return found


def touch_due(found: WebSession, now: datetime) -> bool:
    """Often enough for the idle limit, not a write per request."""
    return now - found.last_seen_at > TOUCH_EVERY


def touch(session: Session, session_id: uuid.UUID) -> None:
    session.execute(
        update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow())
    )


def sign_out(session: Session, secret: str) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.secret_hash == _secret_hash(secret), WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def end_sessions(session: Session, user: User) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
