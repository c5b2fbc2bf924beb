"""Reports in the console: the monthly 24-hour compliance per station and device (with the
CSV and PDF files the API serves), the fixity status of every stored copy, and `evault
doctor`'s checks run by the server for an admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, Query
from fastapi import Path as PathParameter
from fastapi.responses import Response

from api.context import AppContext
from api.http.deps import SessionDep, app_context
from api.http.routes.sla import compliance_file
from api.web.guard import allowed, html, secure
from api.web.one_call import PageRouter
from api.web.pages import Person, render_for
from custody.fixity import checks as fixity
from ingest.compliance import compliance_report
from ingest.deadline import deadline_of
from vault.db import utcnow
from vault.models import Role

router = PageRouter(include_in_schema=False)
Context = Annotated[AppContext, Depends(app_context)]
WATCHERS = (Role.CUSTODIAN, Role.AUDITOR, Role.ADMIN)  # as the API's compliance route
# YYYY-MM, checked by the report itself (its pattern looks ahead: no pydantic pattern).
Month = Annotated[str | None, Query(max_length=7)]


@router.get("/compliance")
def compliance(who: Person, session: SessionDep, context: Context, month: Month = None) -> Response:
    allowed(who, *WATCHERS)
    zone = context.settings.display_timezone
    chosen = month or datetime.now(ZoneInfo(zone)).strftime("%Y-%m")
    report = compliance_report(session, month=chosen, zone=zone,
                               deadline=deadline_of(context.settings), now=utcnow())  # fmt: skip
    return html(render_for(who, "compliance.html", report=report, month=chosen))


@router.get("/compliance/{month}/file")
def compliance_download(
    who: Person, session: SessionDep, context: Context,
    month: Annotated[str, PathParameter(max_length=7)],
    format: Literal["csv", "exceptions.csv", "pdf"] = "csv",
) -> Response:  # fmt: skip
    allowed(who, *WATCHERS)
    return secure(compliance_file(session, context.settings, month, format))


@router.get("/fixity-status")
def fixity_status(who: Person, session: SessionDep) -> Response:
    allowed(who, Role.AUDITOR, Role.CUSTODIAN)
    return html(render_for(who, "fixity.html", summary=fixity.summary(session),
                           quarantined=fixity.quarantined(session),
                           alerts=fixity.fixity_alerts(session),
                           no_intact=fixity.items_without_intact_copy(session)))  # fmt: skip


@router.get("/doctor")
def doctor(who: Person, context: Context) -> Response:
    allowed(who, Role.ADMIN)
    # The doctor probes the database, the stores, ffmpeg and the stations: it is loaded (and
    # its probes run) only when an admin asks.
    from api.doctor import run_checks  # noqa: PLC0415

    return html(render_for(who, "doctor.html", checks=run_checks(context.settings)))
