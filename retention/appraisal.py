"""Appraisal (鉴定): the appraisal group decides keep or destroy for items past their end;
the principal approves or refuses the destruction batch. Flushes only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custody.log.append import append_event
from custody.log.kinds import EventKind
from custody.log.models import ChainHead
from retention.ends import extend
from retention.models import (
    AppraisalBatch,
    AppraisalDecision,
    BatchStatus,
    Decision,
    LegalHold,
)
from vault.accounts import find_user
from vault.db import utcnow
from vault.errors import AccessDenied, Conflict, InputRejected, NotFound
from vault.items import find_item
from vault.models import Case, EvidenceItem, ItemStatus, Role, User
from vault.moments import local_day
from vault.stores.factory import Stores

OPEN_BATCHES = (BatchStatus.APPRAISED, BatchStatus.APPROVED, BatchStatus.EXECUTING)


@dataclass(frozen=True)
class DecisionIn:
    item: str  # id, id prefix or digest prefix
    decision: Decision
    reason: str
    keep_until: datetime | None = None


def _blocked_reason(  # noqa: PLR0911 - one return per precondition, in order
    session: Session, item: EvidenceItem, now: datetime
) -> str | None:
    """Why the item may not be appraised for destruction now, or None."""
    if item.status != ItemStatus.PRESERVED:
        return "it was destroyed"
    if item.retain_until is None:
        return "it is kept permanently"
    if item.retain_until > now:
        return f"its retention runs until {item.retain_until:%Y-%m-%d %H:%M:%S} UTC"
    if session.scalar(
        select(func.count()).select_from(LegalHold)
        .where(LegalHold.item_id == item.id, LegalHold.released_at.is_(None))
    ):  # fmt: skip
        return "it is under a legal hold"
    if item.case is not None and item.case.closed_at is None:
        return f"its case {item.case.number} is still open"
    in_batch = session.execute(
        select(AppraisalBatch.number).join(AppraisalDecision)
        .where(AppraisalDecision.item_id == item.id, AppraisalBatch.status.in_(OPEN_BATCHES))
    ).scalar()  # fmt: skip
    if in_batch is not None:
        return f"it is already in appraisal batch {in_batch}"
    return None


def due_items(session: Session) -> list[EvidenceItem]:
    """Items past their end that may be appraised, oldest end first."""
    now = utcnow()
    candidates = session.execute(
        select(EvidenceItem).outerjoin(Case)
        .where(EvidenceItem.status == ItemStatus.PRESERVED,
               EvidenceItem.retain_until.is_not(None), EvidenceItem.retain_until <= now)
        .order_by(EvidenceItem.retain_until)
    ).scalars()  # fmt: skip
    return [item for item in candidates if _blocked_reason(session, item, now) is None]


def group_key(item: EvidenceItem) -> str:
    return f"case {item.case.number}" if item.case is not None else "no case"


def _check_members(session: Session, user: User, members: Sequence[str]) -> list[str]:
    names = sorted({user.username, *(m.strip() for m in members if m.strip())})
    for name in names:
        if not find_user(session, name).has_any(frozenset({Role.APPRAISER})):
            # A well-formed request at odds with the vault's roles now: a conflict, like naming
            # an approver who holds admin.
            raise Conflict(f"{name} is not an appraiser: the group is made of appraisers")
    return names


def _head_seq(session: Session, item: EvidenceItem) -> int:
    head = session.get(ChainHead, item.id)
    assert head is not None
    return head.last_seq


def appraise(
    session: Session,
    stores: Stores,
    *,
    user: User,
    members: Sequence[str],
    decisions: Sequence[DecisionIn],
    zone: str,
) -> AppraisalBatch:
    """``zone``: the display time zone, whose day the batch's number carries."""
    if not user.has_any(frozenset({Role.APPRAISER})):
        raise AccessDenied("appraisal needs the appraiser role")
    if not decisions:
        raise InputRejected("an appraisal records a decision for at least one item")
    now = utcnow()
    count = session.scalar(select(func.count()).select_from(AppraisalBatch)) or 0
    batch = AppraisalBatch(
        id=uuid.uuid4(), number=f"APR-{local_day(now, zone)}-{count + 1:04d}",
        status=BatchStatus.APPRAISED.value, members=_check_members(session, user, members),
        created_by=user.username, created_at=now,
    )  # fmt: skip
    session.add(batch)
    session.flush()
    seen: set[uuid.UUID] = set()
    for position, wanted in enumerate(decisions):
        item = find_item(session, wanted.item)
        if item.id in seen:
            raise InputRejected(f"item {item.id} is listed twice")
        seen.add(item.id)
        blocked = _blocked_reason(session, item, now)
        if blocked is not None:
            raise Conflict(f"item {item.id} cannot be appraised: {blocked}")
        _record(
            session, stores, batch=batch, position=position, item=item, wanted=wanted,
            user=user, now=now,
        )  # fmt: skip
    if all(d.decision == Decision.KEEP for d in decisions):
        batch.status = BatchStatus.KEPT.value
    session.flush()
    return batch


def _record(
    session: Session,
    stores: Stores,
    *,
    batch: AppraisalBatch,
    position: int,
    item: EvidenceItem,
    wanted: DecisionIn,
    user: User,
    now: datetime,
) -> None:
    reason = wanted.reason.strip()
    if not reason:
        raise InputRejected(f"item {item.id}: each decision needs a reason")
    assert item.retain_until is not None  # checked by _blocked_reason
    seen_until = item.retain_until
    data: dict[str, str] = {"batch": batch.number, "decision": wanted.decision.value}
    if wanted.decision == Decision.KEEP:
        until = wanted.keep_until
        if until is None or until <= now:
            raise InputRejected(
                f"item {item.id}: keeping needs a new end after today (the vault's clock:"
                f" {now:%Y-%m-%d %H:%M} UTC)"
            )
        extend(session, stores, item, until=until, rule="appraisal_keep",
               basis=f"kept by appraisal {batch.number}: {reason}",
               actor=f"user:{user.username}", cause=f"appraisal {batch.number}")  # fmt: skip
        data["keep_until"] = until.isoformat()
    elif wanted.keep_until is not None:
        raise InputRejected(f"item {item.id}: a destroy decision takes no new end")
    append_event(session, item_id=item.id, kind=EventKind.APPRAISED,
                 actor=f"user:{user.username}", reason=reason,
                 data={**data, "members": ", ".join(batch.members)})  # fmt: skip
    session.add(
        AppraisalDecision(
            batch_id=batch.id, position=position, item_id=item.id,
            decision=wanted.decision.value, reason=reason, keep_until=wanted.keep_until,
            retain_until_seen=seen_until, digest_seen=item.digest,
            appraised_seq=_head_seq(session, item),
        )
    )  # fmt: skip


def find_batch(session: Session, number: str, *, lock: bool = False) -> AppraisalBatch:
    query = select(AppraisalBatch).where(AppraisalBatch.number == number)
    if lock:
        query = query.with_for_update()
    batch = session.execute(query).scalar_one_or_none()
    if batch is None:
        raise NotFound(f"no appraisal batch {number!r}")
    return batch


def list_batches(session: Session) -> list[AppraisalBatch]:
    return list(
        session.execute(select(AppraisalBatch).order_by(AppraisalBatch.created_at.desc())).scalars()
    )


def to_destroy(batch: AppraisalBatch) -> list[AppraisalDecision]:
    return [d for d in batch.decisions if d.decision == Decision.DESTROY]


def decide_batch(
    session: Session, number: str, *, user: User, approve: bool, note: str
) -> AppraisalBatch:
    """The principal's decision on a batch's destructions."""
    if not user.has_any(frozenset({Role.PRINCIPAL})):
        raise AccessDenied("only the principal (role principal) decides on destruction")
    batch = find_batch(session, number, lock=True)
    if batch.status != BatchStatus.APPRAISED:
        raise Conflict(f"batch {number} is {batch.status}; only an appraised batch is decided")
    if not note.strip():
        raise InputRejected("the decision needs a note: it goes on the record")
    batch.status = (BatchStatus.APPROVED if approve else BatchStatus.REFUSED).value
    batch.decided_by, batch.decided_at, batch.decision_note = user.username, utcnow(), note
    if approve:
        for decision in to_destroy(batch):
            append_event(session, item_id=decision.item_id,
                         kind=EventKind.DESTRUCTION_APPROVED, actor=f"user:{user.username}",
                         reason=note, data={"batch": number})  # fmt: skip
    session.flush()
    return batch


def supervise(session: Session, number: str, *, user: User) -> AppraisalBatch:
    """The supervisor (监销人) declares they will witness this batch's destruction."""
    if not user.has_any(frozenset({Role.SUPERVISOR})):
        raise AccessDenied("supervising a destruction needs the supervisor role")
    batch = find_batch(session, number, lock=True)
    if batch.status != BatchStatus.APPROVED:
        raise Conflict(f"batch {number} is {batch.status}; only an approved batch is supervised")
    if user.username == batch.decided_by:
        raise AccessDenied("the principal who approved the batch cannot supervise it")
    batch.supervisor, batch.supervised_at = user.username, utcnow()
    for decision in to_destroy(batch):
        append_event(session, item_id=decision.item_id,
                     kind=EventKind.DESTRUCTION_SUPERVISED, actor=f"user:{user.username}",
                     data={"batch": number})  # fmt: skip
    session.flush()
    return batch
