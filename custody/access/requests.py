"""Access requests and decisions (regulations: every consultation registered; copies need a
responsible person's approval; loans are time-limited). Flushes only; callers commit."""

from __future__ import annotations

import contextlib
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.access.models import (
    AccessRequest,
    Purpose,
    RequesterKind,
    RequestStatus,
)
from custody.log.append import append_event
from custody.log.kinds import EventKind
from vault.db import utcnow
from vault.errors import AccessDenied, Conflict, InputRejected, NotFound
from vault.items import find_item
from vault.models import Case, EvidenceItem, ItemStatus, Role, User
from vault.moments import local_day

DEFAULT_PERIOD_DAYS = 3
MAX_PERIOD_DAYS = 7
SYSTEM_APPROVER = "system:policy"


@dataclass(frozen=True)
class NewRequest:
    purpose: Purpose
    reason: str
    items: Sequence[str] = ()  # item ids or digest prefixes
    case: str | None = None  # a case number: all of its items
    period_days: int = DEFAULT_PERIOD_DAYS
    requester_kind: RequesterKind = RequesterKind.INTERNAL
    organisation: str = ""
    document_ref: str = ""
    identity_ref: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _validate(new: NewRequest) -> None:
    if not new.reason.strip():
        raise InputRejected("a request needs a reason: say why the recordings are needed")
    if not 1 <= new.period_days <= MAX_PERIOD_DAYS:
        raise InputRejected(
            f"a request runs 1 to {MAX_PERIOD_DAYS} days (default {DEFAULT_PERIOD_DAYS}),"
            f" not {new.period_days}"
        )
    if not new.items and not new.case:
        raise InputRejected("name the items, or a case whose items are wanted")
    if new.requester_kind != RequesterKind.INTERNAL and not new.document_ref.strip():
        raise InputRejected(
            f"a request for a {new.requester_kind.value.replace('_', ' ')} needs its document"
            " reference (letter number, lawyer's licence and filing certificate, or ID)"
        )
    if new.requester_kind == RequesterKind.PARTY and not new.identity_ref.strip():
        raise InputRejected("a request for a party needs the party's identity document")
    for label, text in (("organisation", new.organisation), ("document reference",
                        new.document_ref), ("identity document", new.identity_ref)):  # fmt: skip
        if any(unicodedata.category(c) == "Cc" for c in text):
            raise InputRejected(
                f"the {label} is one line of text: a control character (NUL, ESC, a line"
                " break …) is not allowed"
            )


def _items(session: Session, new: NewRequest) -> list[EvidenceItem]:
    found = {i.id: i for i in (find_item(session, ref) for ref in new.items)}
    if new.case:
        case = session.execute(select(Case).where(Case.number == new.case)).scalar_one_or_none()
        if case is None:
            raise NotFound(f"no case {new.case!r}")
        found.update({i.id: i for i in case.items})
    items = [i for i in found.values() if i.status == ItemStatus.PRESERVED]
    if not items:
        raise NotFound("none of the named items is held (destroyed or never ingested)")
    return sorted(items, key=lambda i: i.ingested_at)


def _record(
    session: Session, request: AccessRequest, kind: EventKind, actor: str, reason: str
) -> None:
    for item in request.items:
        append_event(
            session,
            item_id=item.id,
            kind=kind,
            actor=actor,
            reason=reason,
            data={
                "request": request.number,
                "purpose": request.purpose.value,
                "period_days": request.period_days,
                "requester": request.requester.username,
                "requester_kind": request.requester_kind.value,
                "organisation": request.organisation,
                "document_ref": request.document_ref,
            },
        )


def create_request(
    session: Session, *, user: User, new: NewRequest, zone: str, views_need_approval: bool = True
) -> AccessRequest:
    """``zone``: the display time zone, whose day the request's number carries."""
    _validate(new)
    now = utcnow()
    request = AccessRequest(
        id=uuid.uuid4(),
        number=f"AR-{local_day(now, zone)}-{secrets.token_hex(3).upper()}",
        requester_id=user.id,
        requester=user,
        purpose=new.purpose,
        reason=new.reason.strip(),
        period_days=new.period_days,
        requested_at=now,
        requester_kind=new.requester_kind,
        organisation=new.organisation,
        document_ref=new.document_ref,
        identity_ref=new.identity_ref,
        status=RequestStatus.PENDING,
        items=_items(session, new),
    )
    session.add(request)
    session.flush()
    _record(session, request, EventKind.ACCESS_REQUESTED, f"user:{user.username}", request.reason)
    if new.purpose == Purpose.VIEW and not views_need_approval:
        _decide(session, request, None, approve=True, reason="viewing allowed by policy")
    return request


def find_request(session: Session, ref: str) -> AccessRequest:
    query = select(AccessRequest).where(AccessRequest.number == ref.upper())
    with contextlib.suppress(ValueError):  # a number, not an id
        query = select(AccessRequest).where(
            (AccessRequest.id == uuid.UUID(ref)) | (AccessRequest.number == ref.upper())
        )
    found = session.execute(query).unique().scalar_one_or_none()
    if found is None:
        raise NotFound(f"no access request {ref!r}")
    return found


def _decide(
    session: Session,
    request: AccessRequest,
    approver: User | None,
    *,
    approve: bool,
    reason: str,
) -> AccessRequest:
    now = utcnow()
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REFUSED
    request.decided_by_id = approver.id if approver else None
    request.decided_by = approver
    request.decided_at = now
    request.decision_reason = reason
    request.valid_until = now + timedelta(days=request.period_days) if approve else None
    actor = f"user:{approver.username}" if approver else SYSTEM_APPROVER
    kind = EventKind.ACCESS_APPROVED if approve else EventKind.ACCESS_REFUSED
    _record(session, request, kind, actor, reason)
    session.flush()
    return request


def decide(
    session: Session, *, ref: str, approver: User, approve: bool, reason: str
) -> AccessRequest:
    if not approver.has_any(frozenset({Role.APPROVER})):
        raise AccessDenied("deciding a request needs the approver role")
    if not reason.strip():
        raise InputRejected("a decision needs a reason")
    request = find_request(session, ref)
    if request.requester_id == approver.id:
        raise AccessDenied("nobody approves or refuses their own request")
    if request.status != RequestStatus.PENDING:
        raise Conflict(f"request {request.number} was already {request.status.value}")
    return _decide(session, request, approver, approve=approve, reason=reason.strip())


def visible_requests(session: Session, user: User) -> list[AccessRequest]:
    """Approvers, auditors and custodians see every request; others see their own."""
    query = select(AccessRequest).order_by(AccessRequest.requested_at.desc())
    if not user.has_any(frozenset({Role.APPROVER, Role.AUDITOR, Role.CUSTODIAN})):
        query = query.where(AccessRequest.requester_id == user.id)
    return list(session.execute(query).unique().scalars())


def authorize_delivery(
    session: Session, *, ref: str, item_ref: str, user: User, now: datetime | None = None
) -> tuple[AccessRequest, EvidenceItem]:
    """The request and item a delivery may serve, or the precise reason it may not."""
    request = find_request(session, ref)
    if request.requester_id != user.id:
        raise AccessDenied(f"request {request.number} is not yours")
    if request.status != RequestStatus.APPROVED:
        raise AccessDenied(
            f"request {request.number} is {request.status.value}: nothing is delivered"
        )
    assert request.valid_until is not None
    if request.valid_until <= (now or utcnow()):
        raise AccessDenied(
            f"request {request.number} expired at {request.valid_until:%Y-%m-%d %H:%M} UTC"
        )
    item = find_item(session, item_ref)
    if item.id not in {i.id for i in request.items}:
        raise AccessDenied(f"item {item.id} is not part of request {request.number}")
    return request, item
