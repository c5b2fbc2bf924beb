"""Liveness and readiness. Like every route, they need a token (any role): a load balancer
gets a token of its own."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

import migrations
from api.context import AppContext
from api.http.callers import Caller as KnownCaller
from api.http.callers import known_caller
from api.http.deps import EVERYONE, app_context, database_slots
from api.http.schemas import Health
from api.http.work import Work, work_for
from custody.fixity.checks import fixity_alerts
from ingest.deadline import deadline_of, waiting_summary
from ingest.health import unreachable_stations
from vault.db import unit_of_work, utcnow
from vault.models import User

router = APIRouter(tags=["health"])
Anyone = Annotated[Work, Depends(work_for(*EVERYONE))]
Caller = Annotated[KnownCaller, Depends(known_caller(*EVERYONE))]
ALERTS_FRESH_S = 5.0
Context = Annotated[AppContext, Depends(app_context)]


def alerts(session: Session, context: AppContext) -> list[str]:
    settings, now = context.settings, utcnow()
    after = timedelta(minutes=settings.station_unreachable_minutes)
    return [
        *fixity_alerts(session),
        *unreachable_stations(session, now=now, after=after),
        *waiting_summary(session, now=now, deadline=deadline_of(settings)),
    ]  # fmt: skip


class AlertSnapshot:
    """/health's alerts, counted at most once every ALERTS_FRESH_S per worker: a monitor
    polling many times a second reads the last count instead of running the queries again.
    /ready always counts afresh."""

    def __init__(self) -> None:
        self.taken_at = -ALERTS_FRESH_S
        self.alerts: list[str] = []
        self.lock = anyio.Lock()

    async def current(self, request: Request, context: AppContext) -> list[str]:
        async with self.lock:  # one count at a time; the others wait for its result
            if time.monotonic() - self.taken_at >= ALERTS_FRESH_S:
                async with database_slots(request, context):
                    self.alerts = await run_in_threadpool(_counted, context)
                self.taken_at = time.monotonic()
            return self.alerts


def _counted(context: AppContext) -> list[str]:
    with unit_of_work(context.factory, read_only=True) as session:
        return alerts(session, context)


@router.get("/health", response_model=Health, summary="The process is up")
async def health(_: Caller, request: Request, context: Context) -> Health:
    """Up, with what needs a person now (counted at most every 5 seconds). Any role's token;
    answered without the database while its token and alerts are fresh (a second and five)."""
    snapshot = getattr(request.app.state, "alert_snapshot", None)
    if snapshot is None:
        snapshot = request.app.state.alert_snapshot = AlertSnapshot()
    return Health(status="ok", alerts=await snapshot.current(request, context))


@router.get("/ready", response_model=Health, summary="The database answers and is migrated")
async def ready(work: Anyone, context: Context) -> Health:
    def checked(session: Session, _: User) -> Health:
        session.execute(text("SELECT 1"))
        current = migrations.is_current(context.engine)
        return Health(
            status="ready" if current else "not-migrated",
            database=context.engine.dialect.name,
            schema_current=current,
            alerts=alerts(session, context) if current else [],
        )

    return await work(checked)
