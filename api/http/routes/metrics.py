"""GET /metrics: Prometheus text format, for a scraper holding a token (Prometheus sends it
with `authorization: {credentials: …}` in its scrape config)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.context import AppContext
from api.http.deps import app_context
from api.http.problems import PROBLEM_SCHEMA
from api.http.work import Work, work_for
from api.metrics import render_metrics
from ingest.deadline import deadline_of
from vault.db import utcnow
from vault.models import Role

router = APIRouter(tags=["health"], responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA})
Watcher = Annotated[Work, Depends(work_for(Role.CUSTODIAN, Role.AUDITOR, Role.ADMIN))]
Context = Annotated[AppContext, Depends(app_context)]


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def get_metrics(work: Watcher, context: Context) -> Response:
    """Ingest files, bytes and latency per station, waiting files by age, open alerts,
    fixity results and renditions, from the database (every process's work)."""
    deadline = deadline_of(context.settings)
    body = await work(
        lambda session, _: render_metrics(
            session, now=utcnow(), deadline=deadline,
            station_after=context.settings.station_unreachable_minutes,
        )
    )  # fmt: skip
    return Response(body, media_type=CONTENT_TYPE_LATEST)
