"""Retention over HTTP: the policy, each item's end and holds, appraisal batches, the
principal's decision, supervision, execution and the signed register. Every time that
matters is the server's; no route takes a time except a kept item's new end."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.convert import case_out, due_out, hold_out, retention_out
from api.http.deps import app_context
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
from api.http.work import Work, work_for
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
Reader = Annotated[Work, Depends(work_for(*OVERSIGHT, *WORKFLOW, Role.INVESTIGATOR))]
Overseer = Annotated[Work, Depends(work_for(*OVERSIGHT, *WORKFLOW))]
Admin = Annotated[Work, Depends(work_for(Role.ADMIN))]
Custodian = Annotated[Work, Depends(work_for(Role.CUSTODIAN))]
Approver = Annotated[Work, Depends(work_for(Role.APPROVER))]
Appraiser = Annotated[Work, Depends(work_for(Role.APPRAISER))]
Principal = Annotated[Work, Depends(work_for(Role.PRINCIPAL))]
Supervisor = Annotated[Work, Depends(work_for(Role.SUPERVISOR))]
# The destruction runs units of work of its own: the executor is authenticated in one that
# only reads, which on SQLite takes no write lock.
Executor = Annotated[Work, Depends(work_for(Role.EXECUTOR, read_only=True))]
Context = Annotated[AppContext, Depends(app_context)]


@router.get("/retention/policy", response_model=PolicyOut)
async def get_policy(work: Overseer) -> PolicyOut:
    """The retention policy in force."""
    return await work(lambda session, _: policy_out(session))


def policy_out(session: Session) -> PolicyOut:
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
async def put_policy(work: Admin, context: Context, body: PolicyIn) -> PolicyEditOut:
    """A new policy version. 409 (with the number of items) if it would shorten any existing
    item's end; otherwise the items it extends are extended, in the stores too."""

    def edited(session: Session, user: User) -> PolicyEditOut:
        new = edited_policy(current_policy(session), body)
        edit = changes.edit_policy(session, context.stores, new, user=user, reason=body.reason)
        return PolicyEditOut(version=edit.version, extended=edit.extended)

    return await work(edited)


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
async def get_due(work: Overseer) -> list[DueItemOut]:
    """Items past their end that may be appraised (not held, not in an open case or batch)."""
    return await work(lambda session, _: due_out(session))


@router.get("/items/{ref}/retention", response_model=RetentionOut)
async def get_item_retention(work: Reader, ref: str) -> RetentionOut:
    """An item's retention end, the rule that set it, its categories and active holds."""
    return await work(lambda session, _: retention_out(session, find_item(session, ref)))


@router.post("/items/{ref}/categories", response_model=RetentionOut)
async def post_categories(
    work: Custodian, context: Context, ref: str, body: CategoriesIn
) -> RetentionOut:
    """Add categories (e.g. obstruction, mass_incident, major_emergency: kept permanently)."""

    def categorized(session: Session, user: User) -> RetentionOut:
        changes.categorize(session, context.stores, ref, body.categories, user=user)
        return retention_out(session, find_item(session, ref))

    return await work(categorized)


@router.post("/items/{ref}/holds", response_model=HoldOut, status_code=status.HTTP_201_CREATED)
async def post_hold(work: Approver, context: Context, ref: str, body: HoldIn) -> HoldOut:
    """Place a legal hold: blocks destruction; the stores carry a legal hold too."""
    return await work(
        lambda session, user: hold_out(holds.place_hold(
            session, context.stores, ref, user=user, reason=body.reason,
            reference=body.reference,
        ))
    )  # fmt: skip


@router.get("/holds", response_model=list[HoldOut])
async def get_holds(work: Overseer) -> list[HoldOut]:
    return await work(lambda session, _: [hold_out(h) for h in holds.list_holds(session)])


@router.post("/holds/{hold}/release", response_model=HoldOut)
async def post_release(
    work: Approver, context: Context, hold: uuid.UUID, body: ReasonIn
) -> HoldOut:
    return await work(
        lambda session, user: hold_out(holds.release_hold(
            session, context.stores, hold, user=user, reason=body.reason
        ))
    )  # fmt: skip


@router.post("/cases/{number}/close", response_model=CaseOut, tags=["cases"])
async def post_case_close(work: Custodian, context: Context, number: str) -> CaseOut:
    """Close a case now (the server's time). Its items' ends are counted from the closing."""
    return await work(
        lambda session, user: case_out(
            changes.close_case(session, context.stores, number, user=user)
        )
    )


@router.post("/cases/{number}/flags", response_model=CaseOut, tags=["cases"])
async def post_case_flags(
    work: Custodian, context: Context, number: str, body: CaseFlagsIn
) -> CaseOut:
    """Add flags; major, hearing, litigation and permanent make the case's items permanent."""
    return await work(
        lambda session, user: case_out(
            changes.flag_case(session, context.stores, number, body.flags, user=user)
        )
    )


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
async def post_appraisal(work: Appraiser, context: Context, body: AppraisalIn) -> BatchOut:
    """The appraisal group's decisions: keep (with a new end) or destroy, item by item."""
    decisions = [
        appraisal.DecisionIn(d.item, d.decision, d.reason, d.keep_until) for d in body.decisions
    ]
    return await work(
        lambda session, user: batch_out(appraisal.appraise(
            session, context.stores, user=user, members=body.members, decisions=decisions,
            zone=context.settings.display_timezone,
        ))
    )  # fmt: skip


@router.get("/appraisals", response_model=list[BatchOut])
async def get_appraisals(work: Overseer) -> list[BatchOut]:
    return await work(lambda session, _: [batch_out(b) for b in appraisal.list_batches(session)])


@router.get("/appraisals/{number}", response_model=BatchOut)
async def get_appraisal(work: Overseer, number: str) -> BatchOut:
    return await work(lambda session, _: batch_out(appraisal.find_batch(session, number)))


@router.post("/appraisals/{number}/approve", response_model=BatchOut)
async def post_approve(work: Principal, number: str, body: NoteIn) -> BatchOut:
    """The principal approves the batch's destructions."""
    return await work(
        lambda session, user: batch_out(
            appraisal.decide_batch(session, number, user=user, approve=True, note=body.note)
        )
    )


@router.post("/appraisals/{number}/refuse", response_model=BatchOut)
async def post_refuse(work: Principal, number: str, body: NoteIn) -> BatchOut:
    """The principal refuses: the items stay and may be appraised again."""
    return await work(
        lambda session, user: batch_out(
            appraisal.decide_batch(session, number, user=user, approve=False, note=body.note)
        )
    )


@router.post("/appraisals/{number}/supervise", response_model=BatchOut)
async def post_supervise(work: Supervisor, number: str) -> BatchOut:
    """The supervisor (监销人) takes the batch; they countersign its register."""
    return await work(
        lambda session, user: batch_out(appraisal.supervise(session, number, user=user))
    )


@router.post("/appraisals/{number}/execute", response_model=DestructionOut)
async def post_execute(work: Executor, context: Context, number: str) -> DestructionOut:
    """Destroy an approved, supervised batch. Every precondition is re-checked now; any
    failure is a 409 naming it, with nothing deleted."""
    # pyHanko and reportlab load only when something is signed (a lighter API start-up).
    from retention.destruction import execute  # noqa: PLC0415

    done = await work(
        lambda _, user: execute(
            context.factory, context.stores, context.settings, number, executor=user.username
        )
    )
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
async def get_register(work: Overseer, context: Context, number: str) -> StreamingResponse:
    """The signed destruction register (PDF). Check it with
    `pyhanko sign validate --trust <the vault's ca.pem> register.pdf`."""
    digest = await work(lambda session, _: register_digest(session, number))
    body = register_chunks(context.stores, digest, chunk_size=context.settings.chunk_size)
    return StreamingResponse(
        body, media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{number}-register.pdf"',
                 "X-Content-SHA256": digest},
    )  # fmt: skip
