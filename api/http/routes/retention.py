"""Retention over HTTP: the policy, each item's end and holds, appraisal batches, the
principal's decision, supervision, execution and the signed register. Every time that
matters is the server's; no route takes a time except a kept item's new end."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import StreamingResponse

from api.context import AppContext
from api.http.convert import case_out, due_out, hold_out, retention_out
from api.http.deps import SessionDep, app_context, require, require_without_write_lock
from api.http.problems import PROBLEM_SCHEMA
from api.http.retention_schemas import (
    AppraisalIn,
    BatchOut,
    CaseFlagsIn,
    CategoriesIn,
    DecisionOut,
    DestructionOut,
    DueItemOut,
    HoldIn,
    HoldOut,
    NoteIn,
    PolicyEditOut,
    PolicyIn,
    PolicyOut,
    ReasonIn,
    RetentionOut,
)
from api.http.schemas import CaseOut
from retention import appraisal, changes, holds
from retention.models import AppraisalBatch
from retention.policy import current_policy, current_version
from retention.register_store import register_chunks, register_digest
from retention.rules import RetentionPolicy
from vault.items import find_item
from vault.models import Role, User

router = APIRouter(
    tags=["retention"],
    responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA,
               409: PROBLEM_SCHEMA, 422: PROBLEM_SCHEMA},
)  # fmt: skip
OVERSIGHT = (Role.CUSTODIAN, Role.AUDITOR, Role.APPROVER, Role.ADMIN)
WORKFLOW = (Role.APPRAISER, Role.PRINCIPAL, Role.EXECUTOR, Role.SUPERVISOR)
Reader = Annotated[User, Depends(require(*OVERSIGHT, *WORKFLOW, Role.INVESTIGATOR))]
Overseer = Annotated[User, Depends(require(*OVERSIGHT, *WORKFLOW))]
Admin = Annotated[User, Depends(require(Role.ADMIN))]
Custodian = Annotated[User, Depends(require(Role.CUSTODIAN))]
Approver = Annotated[User, Depends(require(Role.APPROVER))]
Appraiser = Annotated[User, Depends(require(Role.APPRAISER))]
Principal = Annotated[User, Depends(require(Role.PRINCIPAL))]
Supervisor = Annotated[User, Depends(require(Role.SUPERVISOR))]
Executor = Annotated[User, Depends(require_without_write_lock(Role.EXECUTOR))]
Context = Annotated[AppContext, Depends(app_context)]


@router.get("/retention/policy", response_model=PolicyOut)
def get_policy(_: Overseer, session: SessionDep) -> PolicyOut:
    """The retention policy in force."""
    row, policy = current_version(session), current_policy(session)
    return PolicyOut(
        version=row.version if row else None, created_by=row.created_by if row else "defaults",
        reason=row.reason if row else "defaults from the regulations",
        case_years=policy.case_years, unattached_years=policy.unattached_years,
        floor_months=policy.floor_months,
        permanent_case_flags=sorted(policy.permanent_case_flags),
        permanent_categories=sorted(policy.permanent_categories),
    )  # fmt: skip


@router.put("/retention/policy", response_model=PolicyEditOut)
def put_policy(user: Admin, session: SessionDep, context: Context, body: PolicyIn) -> PolicyEditOut:
    """A new policy version. 409 (with the number of items) if it would shorten any existing
    item's end; otherwise the items it extends are extended, in the stores too."""
    new = edited_policy(current_policy(session), body)
    edit = changes.edit_policy(session, context.stores, new, user=user, reason=body.reason)
    return PolicyEditOut(version=edit.version, extended=edit.extended)


def edited_policy(old: RetentionPolicy, body: PolicyIn) -> RetentionPolicy:
    """The policy in force with the edit's fields: the numbers given replace, the flags and
    categories given are added (an edit never drops a permanent flag)."""
    given = body.model_dump(include={"case_years", "unattached_years", "floor_months"},
                            exclude_none=True)  # fmt: skip
    return RetentionPolicy.model_validate({
        **old.model_dump(), **given,
        "permanent_case_flags": old.permanent_case_flags | set(body.permanent_case_flags),
        "permanent_categories": old.permanent_categories | set(body.permanent_categories),
    })  # fmt: skip


@router.get("/retention/due", response_model=list[DueItemOut])
def get_due(_: Overseer, session: SessionDep) -> list[DueItemOut]:
    """Items past their end that may be appraised (not held, not in an open case or batch)."""
    return due_out(session)


@router.get("/items/{ref}/retention", response_model=RetentionOut)
def get_item_retention(_: Reader, session: SessionDep, ref: str) -> RetentionOut:
    """An item's retention end, the rule that set it, its categories and active holds."""
    return retention_out(session, find_item(session, ref))


@router.post("/items/{ref}/categories", response_model=RetentionOut)
def post_categories(
    user: Custodian, session: SessionDep, context: Context, ref: str, body: CategoriesIn
) -> RetentionOut:
    """Add categories (e.g. obstruction, mass_incident, major_emergency: kept permanently)."""
    changes.categorize(session, context.stores, ref, body.categories, user=user)
    return get_item_retention(user, session, ref)


@router.post("/items/{ref}/holds", response_model=HoldOut, status_code=status.HTTP_201_CREATED)
def post_hold(
    user: Approver, session: SessionDep, context: Context, ref: str, body: HoldIn
) -> HoldOut:
    """Place a legal hold: blocks destruction; the stores carry a legal hold too."""
    return hold_out(holds.place_hold(session, context.stores, ref, user=user,
                                     reason=body.reason, reference=body.reference))  # fmt: skip


@router.get("/holds", response_model=list[HoldOut])
def get_holds(_: Overseer, session: SessionDep) -> list[HoldOut]:
    return [hold_out(h) for h in holds.list_holds(session)]


@router.post("/holds/{hold}/release", response_model=HoldOut)
def post_release(
    user: Approver, session: SessionDep, context: Context, hold: uuid.UUID, body: ReasonIn
) -> HoldOut:
    return hold_out(holds.release_hold(session, context.stores, hold, user=user,
                                       reason=body.reason))  # fmt: skip


@router.post("/cases/{number}/close", response_model=CaseOut, tags=["cases"])
def post_case_close(user: Custodian, session: SessionDep, context: Context, number: str) -> CaseOut:
    """Close a case now (the server's time). Its items' ends are counted from the closing."""
    return case_out(changes.close_case(session, context.stores, number, user=user))


@router.post("/cases/{number}/flags", response_model=CaseOut, tags=["cases"])
def post_case_flags(
    user: Custodian, session: SessionDep, context: Context, number: str, body: CaseFlagsIn
) -> CaseOut:
    """Add flags; major, hearing, litigation and permanent make the case's items permanent."""
    return case_out(changes.flag_case(session, context.stores, number, body.flags, user=user))


def batch_out(batch: AppraisalBatch) -> BatchOut:
    return BatchOut(
        number=batch.number, status=batch.status, members=list(batch.members),
        created_by=batch.created_by, created_at=batch.created_at, decided_by=batch.decided_by,
        decided_at=batch.decided_at, decision_note=batch.decision_note,
        supervisor=batch.supervisor, executor=batch.executor, executed_at=batch.executed_at,
        register_digest=batch.register_digest,
        decisions=[DecisionOut(item=d.item_id, decision=d.decision, reason=d.reason,
                               keep_until=d.keep_until) for d in batch.decisions],
    )  # fmt: skip


@router.post("/appraisals", response_model=BatchOut, status_code=status.HTTP_201_CREATED)
def post_appraisal(
    user: Appraiser, session: SessionDep, context: Context, body: AppraisalIn
) -> BatchOut:
    """The appraisal group's decisions: keep (with a new end) or destroy, item by item."""
    decisions = [
        appraisal.DecisionIn(d.item, d.decision, d.reason, d.keep_until) for d in body.decisions
    ]
    batch = appraisal.appraise(session, context.stores, user=user, members=body.members,
                               decisions=decisions,
                               zone=context.settings.display_timezone)  # fmt: skip
    return batch_out(batch)


@router.get("/appraisals", response_model=list[BatchOut])
def get_appraisals(_: Overseer, session: SessionDep) -> list[BatchOut]:
    return [batch_out(b) for b in appraisal.list_batches(session)]


@router.get("/appraisals/{number}", response_model=BatchOut)
def get_appraisal(_: Overseer, session: SessionDep, number: str) -> BatchOut:
    return batch_out(appraisal.find_batch(session, number))


@router.post("/appraisals/{number}/approve", response_model=BatchOut)
def post_approve(user: Principal, session: SessionDep, number: str, body: NoteIn) -> BatchOut:
    """The principal approves the batch's destructions."""
    batch = appraisal.decide_batch(session, number, user=user, approve=True, note=body.note)
    return batch_out(batch)


@router.post("/appraisals/{number}/refuse", response_model=BatchOut)
def post_refuse(user: Principal, session: SessionDep, number: str, body: NoteIn) -> BatchOut:
    """The principal refuses: the items stay and may be appraised again."""
    batch = appraisal.decide_batch(session, number, user=user, approve=False, note=body.note)
    return batch_out(batch)


@router.post("/appraisals/{number}/supervise", response_model=BatchOut)
def post_supervise(user: Supervisor, session: SessionDep, number: str) -> BatchOut:
    """The supervisor (监销人) takes the batch; they countersign its register."""
    return batch_out(appraisal.supervise(session, number, user=user))


@router.post("/appraisals/{number}/execute", response_model=DestructionOut)
def post_execute(user: Executor, context: Context, number: str) -> DestructionOut:
    """Destroy an approved, supervised batch. Every precondition is re-checked now; any
    failure is a 409 naming it, with nothing deleted."""
    # pyHanko and reportlab load only when something is signed (a lighter API start-up).
    from retention.destruction import execute  # noqa: PLC0415

    done = execute(context.factory, context.stores, context.settings, number,
                   executor=user.username)  # fmt: skip
    return DestructionOut(
        batch=done.batch, items=done.items, objects_deleted=done.objects_deleted,
        objects_absent=done.objects_absent, register_digest=done.register_digest,
        register_size=done.register_size, checkpoint_size=done.checkpoint_size,
    )  # fmt: skip


@router.get(
    "/appraisals/{number}/register",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}}}},
)
def get_register(
    _: Overseer, session: SessionDep, context: Context, number: str
) -> StreamingResponse:
    """The signed destruction register (PDF). Check it with
    `pyhanko sign validate --trust <the vault's ca.pem> register.pdf`."""
    digest = register_digest(session, number)
    body = register_chunks(context.stores, digest, chunk_size=context.settings.chunk_size)
    return StreamingResponse(
        body, media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{number}-register.pdf"',
                 "X-Content-SHA256": digest},
    )  # fmt: skip
