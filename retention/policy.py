"""The retention policy in force, and edits to it that may only lengthen what items have."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retention.models import PolicyVersion
from retention.rules import RetentionPolicy
from vault.errors import Conflict

FIRST_VERSION = 1


def current_version(session: Session) -> PolicyVersion | None:
    return session.execute(
        select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1)
    ).scalar_one_or_none()


def current_policy(session: Session) -> RetentionPolicy:
    row = current_version(session)
    return RetentionPolicy() if row is None else RetentionPolicy.model_validate(row.params)


def ensure_policy(session: Session, *, unattached_years: int) -> None:
    """Record version 1 (the regulations' defaults) the first time the vault starts."""
    if session.scalar(select(func.count()).select_from(PolicyVersion)):
        return
    policy = RetentionPolicy(unattached_years=unattached_years)
    session.add(
        PolicyVersion(
            version=FIRST_VERSION,
            params=policy.model_dump(mode="json"),
            created_by="system",
            reason="defaults from the regulations",
        )
    )
    session.flush()


@dataclass(frozen=True)
class PolicyPreview:
    shortened: int  # items whose end the new policy would make earlier
    extended: int  # items whose stored end it would push later


def new_version(
    session: Session, policy: RetentionPolicy, *, actor: str, reason: str
) -> PolicyVersion:
    current = current_version(session)
    if current is not None and RetentionPolicy.model_validate(current.params) == policy:
        raise Conflict(f"policy version {current.version} already says exactly this")
    row = PolicyVersion(
        version=(current.version if current else 0) + 1,
        params=policy.model_dump(mode="json"),
        created_by=actor,
        reason=reason,
    )
    session.add(row)
    session.flush()
    return row
