"""The destruction workflow in the console, each step by its own person: the due list grouped
by case with the appraisal group's decisions (keep with a new end, or destroy), the
principal's approval or refusal, the supervisor taking the batch, the executor's destruction,
and the signed register to download. The same services and rules as the API: never the same
person in two steps, never the principal."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, Request
from fastapi.responses import Response, StreamingResponse

from api.context import AppContext
from api.http.deps import SessionDep, app_context
from api.http.retention_schemas import AppraisalIn, NoteIn
from api.http.routes.retention import OVERSIGHT, WORKFLOW
from api.web.forms import WHOLE_FORM, FormErrors, parsed, refusal
from api.web.guard import Visitor, allowed, check_csrf, html, redirect, secure
from api.web.one_call import PageRouter
from api.web.pages import Person, render_for
from retention import appraisal
from retention.register_store import register_chunks, register_digest
from vault.errors import VaultError
from vault.models import Role

router = PageRouter(include_in_schema=False)
Context = Annotated[AppContext, Depends(app_context)]
Csrf = Annotated[str, Form(max_length=100)]
OVERSEERS = (*OVERSIGHT, *WORKFLOW)
MAX_DUE_SHOWN = 500  # an appraisal is a sitting's work; the API lists every due item


def _due(who: Visitor, session: SessionDep, *, form: dict[str, str] | None = None,
         errors: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    groups: dict[str, list[object]] = defaultdict(list)
    for item in appraisal.due_items(session)[:MAX_DUE_SHOWN]:
        groups[appraisal.group_key(item)].append(item)
    body = render_for(who, "retention_due.html", groups=dict(groups),
                      batches=appraisal.list_batches(session), form=form or {},
                      errors=errors or {}, whole=WHOLE_FORM)  # fmt: skip
    return html(body, status=status)


def _decisions(form: Mapping[str, str], zone: str) -> list[dict[str, str]]:
    """The form's fields per item (decision-ID, reason-ID, keep_until-ID) as the API's
    decisions, for the items given one; a kept item's new end is midnight of the day chosen,
    in the vault's display time zone."""
    decisions = []
    for key, value in form.items():
        if not key.startswith("decision-") or not value:
            continue
        ref = key.removeprefix("decision-")
        wanted = {"item": ref, "decision": value, "reason": form.get(f"reason-{ref}", "")}
        keep = form.get(f"keep_until-{ref}", "")
        if value == "keep" and keep:
            try:
                day = date.fromisoformat(keep)
            except ValueError:
                raise FormErrors({"decisions": f"{keep!r} is not a date"}) from None
            wanted["keep_until"] = datetime.combine(day, time(), ZoneInfo(zone)).isoformat()
        decisions.append(wanted)
    return decisions


@router.get("/retention-due")
def due(who: Person, session: SessionDep) -> Response:
    allowed(who, *OVERSEERS)
    return _due(who, session)


async def form_fields(request: Request) -> dict[str, str]:
    """A form whose field names are the items' (decision-ID): read whole, text fields only."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


@router.post("/retention-due")
def appraise(
    request: Request, who: Person, session: SessionDep, context: Context,
    submitted: Annotated[dict[str, str], Depends(form_fields)],
) -> Response:  # fmt: skip
    """One decision per item the appraiser chose (keep or destroy), with its reason."""
    check_csrf(request, who.web.csrf, submitted.get("csrf"))
    allowed(who, Role.APPRAISER)
    members = [m.strip() for m in submitted.get("members", "").split(",") if m.strip()]
    try:
        decisions = _decisions(submitted, context.settings.display_timezone)
        body = parsed(AppraisalIn, {"members": members, "decisions": decisions})
        try:
            batch = appraisal.appraise(
                session, context.stores, user=who.user, members=body.members,
                decisions=[appraisal.DecisionIn(d.item, d.decision, d.reason, d.keep_until)
                           for d in body.decisions],
                zone=context.settings.display_timezone,
            )  # fmt: skip
        except VaultError as exc:
            raise refusal(exc, {"not an appraiser": "members"}) from None
    except FormErrors as exc:
        return _due(who, session, form=submitted, errors=exc.errors, status=422)
    return redirect(f"/destruction-batches/{batch.number}")


def _batch(who: Visitor, session: SessionDep, number: str, *, error: str | None = None,
           status: int = 200) -> Response:  # fmt: skip
    batch = appraisal.find_batch(session, number)
    body = render_for(who, "destruction_batch.html", batch=batch, error=error)
    return html(body, status=status)


@router.get("/destruction-batches/{number}")
def batch_page(who: Person, session: SessionDep, number: str) -> Response:
    allowed(who, *OVERSEERS)
    return _batch(who, session, number)


@router.post("/destruction-batches/{number}/decision")
def decide(
    request: Request, who: Person, session: SessionDep, number: str, *, csrf: Csrf = "",
    note: Annotated[str, Form(max_length=8000)] = "",
    approve: Annotated[str, Form(max_length=10)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.PRINCIPAL)
    try:
        body = parsed(NoteIn, {"note": note})
        appraisal.decide_batch(session, number, user=who.user, approve=approve == "yes",
                               note=body.note)  # fmt: skip
    except FormErrors as exc:
        return _batch(who, session, number, error="; ".join(exc.errors.values()), status=422)
    except VaultError as exc:
        session.rollback()
        return _batch(who, session, number, error=str(exc), status=409)
    return redirect(f"/destruction-batches/{number}")


@router.post("/destruction-batches/{number}/supervise")
def supervise(
    request: Request, who: Person, session: SessionDep, number: str, csrf: Csrf = ""
) -> Response:
    check_csrf(request, who.web.csrf, csrf)
    try:
        appraisal.supervise(session, number, user=who.user)
    except VaultError as exc:  # the principal, or a person without the role, is refused here
        session.rollback()
        return _batch(who, session, number, error=str(exc), status=403)
    return redirect(f"/destruction-batches/{number}")


@router.post("/destruction-batches/{number}/execute")
def execute(
    request: Request, who: Person, session: SessionDep, context: Context, number: str, *,
    csrf: Csrf = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.EXECUTOR)
    # pyHanko and reportlab load only when a register is signed (a lighter start-up).
    from retention.destruction import execute as destroy  # noqa: PLC0415

    username = who.user.username
    # The destruction runs units of work of its own: this one ends here (a second write
    # transaction would wait for SQLite's lock held by this one).
    session.commit()
    try:
        destroy(context.factory, context.stores, context.settings, number, executor=username)
    except VaultError as exc:
        return _batch(who, session, number, error=str(exc), status=409)
    return redirect(f"/destruction-batches/{number}")


@router.get("/destruction-batches/{number}/register")
def register(who: Person, session: SessionDep, context: Context, number: str) -> Response:
    allowed(who, *OVERSEERS)
    digest = register_digest(session, number)
    body = register_chunks(context.stores, digest, chunk_size=context.settings.chunk_size)
    return secure(StreamingResponse(
        body, media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{number}-register.pdf"',
                 "X-Content-SHA256": digest},
    ))  # fmt: skip
