"""Liveness and readiness. Like every route, they need a token (any role): a load balancer
gets a token of its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

import migrations
from api.context import AppContext
from api.http.deps import EVERYONE, SessionDep, app_context, require
from api.http.schemas import Health
from custody.fixity.checks import fixity_alerts
from ingest.deadline import deadline_of, waiting_summary
from ingest.health import unreachable_stations
from vault.db import utcnow
from vault.models import User

router = APIRouter(tags=["health"])
Anyone = Annotated[User, Depends(require(*EVERYONE))]
Context = Annotated[AppContext, Depends(app_context)]


def alerts(session: Session, context: AppContext) -> list[str]:
    settings, now = context.settings, utcnow()
    after = timedelta(minutes=settings.station_unreachable_minutes)
    return [
        *fixity_alerts(session),
        *unreachable_stations(session, now=now, after=after),
        *waiting_summary(session, now=now, deadline=deadline_of(settings)),
    ]  # fmt: skip


@router.get("/health", response_model=Health, summary="The process is up")
def health(_: Anyone, session: SessionDep, context: Context) -> Health:
    return Health(status="ok", alerts=alerts(session, context))


@router.get("/ready", response_model=Health, summary="The database answers and is migrated")
def ready(_: Anyone, session: SessionDep, context: Context) -> Health:
    session.execute(text("SELECT 1"))
    current = migrations.is_current(context.engine)
    return Health(
        status="ready" if current else "not-migrated",
        database=context.engine.dialect.name,
        schema_current=current,
        alerts=alerts(session, context) if current else [],
    )
