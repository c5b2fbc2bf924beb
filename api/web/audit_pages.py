"""Pages for auditors: the sign-in record (who, when, from where), read from the hash-chained
administration log that `evault audit verify` checks; and the audit of the whole vault run
from the page in the background, its progress kept in the database (a reload, or another
server process, shows it), ending with the signed PDF report."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response

from api.context import AppContext
from api.http.deps import SessionDep, app_context
from api.web.guard import allowed, check_csrf, html, redirect, secure
from api.web.one_call import PageRouter
from api.web.pages import Person, render_for
from custody.admin.log import sign_in_record
from custody.log import audit_runs
from vault.db import utcnow
from vault.errors import NotFound
from vault.models import Role

router = PageRouter(include_in_schema=False)
SIGN_INS_PAGE = 100


@router.get("/sign-ins")
def sign_ins(
    who: Person,
    session: SessionDep,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
) -> Response:
    allowed(who, Role.AUDITOR, Role.ADMIN)
    found = sign_in_record(session, limit=SIGN_INS_PAGE + 1,
                           offset=(page_number - 1) * SIGN_INS_PAGE)  # fmt: skip
    return html(render_for(who, "sign_ins.html", entries=found[:SIGN_INS_PAGE],
                           page=page_number, more=len(found) > SIGN_INS_PAGE))  # fmt: skip


AUDIT_READERS = (Role.AUDITOR, Role.ADMIN)


@router.get("/audit-runs")
def audit_runs_page(who: Person, session: SessionDep) -> Response:
    allowed(who, *AUDIT_READERS)
    runs = audit_runs.recent_runs(session)
    now = utcnow()
    return html(render_for(who, "audit_runs.html", runs=[(r, audit_runs.shown_status(r, now))
                                                           for r in runs]))  # fmt: skip


@router.post("/audit-runs")
def audit_start(
    request: Request, who: Person, session: SessionDep,
    context: Annotated[AppContext, Depends(app_context)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.AUDITOR)
    run_id = audit_runs.start(session, started_by=who.user.username).id
    session.commit()  # the run's row exists before the audit writes its progress to it
    threading.Thread(
        target=audit_runs.execute, name=f"audit-run-{run_id}", daemon=True,
        args=(context.factory, context.stores, context.settings, run_id),
    ).start()  # fmt: skip
    return redirect(f"/audit-runs/{run_id}")


@router.get("/audit-runs/{run_id}")
def audit_run_page(who: Person, session: SessionDep, run_id: int) -> Response:
    allowed(who, *AUDIT_READERS)
    run = audit_runs.find_run(session, run_id)
    status = audit_runs.shown_status(run, utcnow())
    return html(render_for(who, "audit_run.html", run=run, status=status))


@router.get("/audit-runs/{run_id}/report.pdf")
def audit_report(who: Person, session: SessionDep, run_id: int) -> Response:
    allowed(who, *AUDIT_READERS)
    run = audit_runs.find_run(session, run_id)
    if run.report_pdf is None:
        raise NotFound(f"audit run {run_id} has no report (it is {run.status})")
    return secure(Response(bytes(run.report_pdf), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="audit-{run_id}.pdf"',
        "X-Content-SHA256": run.report_digest or "",
    }))  # fmt: skip
