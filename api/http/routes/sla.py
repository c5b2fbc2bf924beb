"""The 24-hour guarantee over HTTP: files waiting on the stations by age, the monthly
compliance report (CSV or PDF), and the alerts raised."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParameter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.deps import app_context
from api.http.problems import PROBLEM_SCHEMA
from api.http.retention_schemas import ReasonIn
from api.http.schemas import AlertOut
from api.http.sla_schemas import StationSlaOut, sla_out
from api.http.work import Work, work_for
from config.settings import Settings
from custody.admin.acts import ALERT_KEEPERS, acknowledge_alert
from ingest.compliance import compliance_report
from ingest.compliance_files import render_pdf, write_csv
from ingest.compliance_rule import MONTH_PATTERN
from ingest.deadline import deadline_of
from ingest.sla import sla_report
from vault.alerts import recent_alerts
from vault.db import utcnow
from vault.documents.fonts import register_cjk_font
from vault.models import Role

router = APIRouter(tags=["ingest guarantee"], responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA})
Keeper = Annotated[Work, Depends(work_for(*ALERT_KEEPERS))]
Watcher = Annotated[Work, Depends(work_for(Role.CUSTODIAN, Role.AUDITOR, Role.ADMIN))]
Context = Annotated[AppContext, Depends(app_context)]
MEDIA = {"csv": "text/csv; charset=utf-8", "exceptions.csv": "text/csv; charset=utf-8",
         "pdf": "application/pdf"}  # fmt: skip


@router.get("/sla", response_model=list[StationSlaOut], summary="Files waiting, by age")
async def get_sla(work: Watcher, context: Context) -> list[StationSlaOut]:
    """Per station, every file not yet ingested (or ingested and not yet acknowledged) with
    how long it has waited by the vault's clock; ``overdue`` is past ingest_deadline_hours."""
    deadline = deadline_of(context.settings)
    return await work(
        lambda session, _: sla_out(sla_report(session, deadline=deadline, now=utcnow()), deadline)
    )


@router.get(
    "/sla/compliance/{month}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/pdf": {}}}, 422: PROBLEM_SCHEMA},
    summary="Monthly compliance report",
)
async def get_compliance(
    work: Watcher,
    context: Context,
    month: Annotated[
        str, PathParameter(description="YYYY-MM", json_schema_extra={"pattern": MONTH_PATTERN})
    ],
    format: Annotated[
        Literal["csv", "exceptions.csv", "pdf"],
        Query(description="csv: per station and device; exceptions.csv; pdf: both, bilingual"),
    ] = "csv",
) -> Response:
    """The 24-hour compliance of recordings docked in ``month`` (YYYY-MM, in the vault's
    display time zone): per station and per device, docked / in time / late / overdue /
    vanished / pending, compliance %, latency; and every exception."""
    return await work(lambda session, _: compliance_file(session, context.settings, month, format))


def compliance_file(session: Session, settings: Settings, month: str, format: str) -> Response:
    """The month's report as one file: the summary CSV, the exceptions CSV or the PDF."""
    font = register_cjk_font(settings.document_font) if format == "pdf" else ""
    made = compliance_report(session, month=month, zone=settings.display_timezone,
                             deadline=deadline_of(settings), now=utcnow())  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="evault-compliance-") as scratch:
        if format == "pdf":  # only the file asked for is made
            chosen = Path(scratch) / f"compliance-{made.month}.pdf"
            render_pdf(made, chosen, font=font, organisation=settings.organisation)
        else:
            summary, exceptions = write_csv(made, Path(scratch))
            chosen = summary if format == "csv" else exceptions
        body = chosen.read_bytes()  # a report of counts, kilobytes: not a recording
    return Response(
        body, media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{chosen.name}"'},
    )  # fmt: skip


@router.get("/alerts", response_model=list[AlertOut], summary="Alerts raised, newest first")
async def get_alerts(
    work: Watcher,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    open: Annotated[bool, Query(description="Only those nobody has acknowledged.")] = False,
) -> list[AlertOut]:
    """Deadline warnings and misses, unreachable stations, infected recordings, station
    digest mismatches; with whether the webhook has them and who acknowledged them."""
    return await work(
        lambda session, _: [
            AlertOut.model_validate(a, from_attributes=True)
            for a in recent_alerts(session, limit=limit, open_only=open)
        ]
    )


@router.post(
    "/alerts/{alert}/acknowledge", response_model=AlertOut, summary="Acknowledge an alert",
    responses={404: PROBLEM_SCHEMA, 409: PROBLEM_SCHEMA, 422: PROBLEM_SCHEMA},
)  # fmt: skip
async def post_acknowledge(
    work: Keeper,
    alert: Annotated[
        str,
        PathParameter(
            description="The alert's id, or 6+ hex digits of it.",
            pattern=r"^[0-9a-fA-F-]{6,36}$",
        ),
    ],
    body: ReasonIn,
) -> AlertOut:
    """Say the alert has been seen to and what was done (custodian or admin). Recorded in
    the administration log; the alert stays, marked with who acknowledged it and why."""
    return await work(
        lambda session, user: AlertOut.model_validate(
            acknowledge_alert(session, user=user, ref=alert, reason=body.reason),
            from_attributes=True,
        )
    )
