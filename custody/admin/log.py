"""Appending to and checking the administration log. entry_hash = SHA-256(0x03 || prev_hash ||
jcs(entry)), the first entry's prev_hash 32 zero bytes: the custody chains' rule with its own
domain byte, so an administration entry can never pass for a custody entry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.admin.models import AdminEvent
from custody.log.append import lock_log_head
from custody.log.canonical import GENESIS_HASH, canonical_bytes, format_time
from vault.db import utcnow

ADMIN_PREFIX = b"\x03"


def admin_document(event: AdminEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": format_time(event.at),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "data": event.data,
    }


def admin_hash(prev_hash: bytes, document: dict[str, Any]) -> bytes:
    return hashlib.sha256(ADMIN_PREFIX + prev_hash + canonical_bytes(document)).digest()


def append_admin(
    session: Session, *, actor: str, action: str, subject: str, data: dict[str, Any]
) -> AdminEvent:
    lock_log_head(session)  # one writer at a time, with the custody log's own lock
    last = session.execute(
        select(AdminEvent).order_by(AdminEvent.seq.desc()).limit(1)
    ).scalar_one_or_none()
    prev = bytes(last.entry_hash) if last is not None else GENESIS_HASH
    event = AdminEvent(
        seq=(last.seq if last is not None else 0) + 1, at=utcnow(), actor=actor, action=action,
        subject=subject, data=data, prev_hash=prev, entry_hash=b"",
    )  # fmt: skip
    event.entry_hash = admin_hash(prev, admin_document(event))
    session.add(event)
    session.flush()
    return event


def admin_head(session: Session) -> tuple[int, bytes] | None:
    """(entries, head hash) of the log as stored, or None while it is empty."""
    last = session.execute(
        select(AdminEvent).order_by(AdminEvent.seq.desc()).limit(1)
    ).scalar_one_or_none()
    return None if last is None else (last.seq, bytes(last.entry_hash))


@dataclass
class AdminCheck:
    problems: list[str]
    heads: list[bytes]  # heads[n - 1]: the head hash recomputed over the first n entries


def check_admin_log(session: Session) -> AdminCheck:
    """Recompute the chain from the raw rows: every entry's hash, link and seq."""
    problems: list[str] = []
    heads: list[bytes] = []
    prev = GENESIS_HASH
    for expected, event in enumerate(
        session.execute(select(AdminEvent).order_by(AdminEvent.seq)).scalars(), start=1
    ):
        if event.seq != expected:
            problems.append(f"administration log entry {expected} is missing (next is {event.seq})")
        if bytes(event.prev_hash) != prev:
            problems.append(f"administration log entry {event.seq} does not link to the one before")
        recomputed = admin_hash(prev, admin_document(event))
        if recomputed != bytes(event.entry_hash):
            problems.append(
                f"administration log entry {event.seq} ({event.action} {event.subject}) was"
                " altered: its content does not hash to its recorded hash"
            )
        heads.append(recomputed)
        prev = recomputed
    return AdminCheck(problems, heads)


SIGN_IN_ACTIONS = ("signed_in", "sign_in_failed", "locked_out")


def sign_in_record(session: Session, *, limit: int, offset: int = 0) -> list[AdminEvent]:
    """The console's sign-ins, failures and lockouts, newest first (entries of this log, so
    `evault audit verify` checks them with the rest)."""
    return list(
        session.execute(
            select(AdminEvent)
            .where(AdminEvent.action.in_(SIGN_IN_ACTIONS))
            .order_by(AdminEvent.seq.desc())
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
