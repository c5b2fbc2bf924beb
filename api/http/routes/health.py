"""Liveness and readiness. Like every route, they need a token (any role): a load balancer
gets a token of its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text

import migrations
from api.context import AppContext
from api.http.deps import EVERYONE, SessionDep, app_context, require
from api.http.schemas import Health
from custody.fixity import fixity_alerts
from vault.models import User

router = APIRouter(tags=["health"])
Anyone = Annotated[User, Depends(require(*EVERYONE))]


@router.get("/health", response_model=Health, summary="The process is up")
def health(_: Anyone, session: SessionDep) -> Health:
    return Health(status="ok", alerts=fixity_alerts(session))


@router.get("/ready", response_model=Health, summary="The database answers and is migrated")
def ready(
    _: Anyone, session: SessionDep, context: Annotated[AppContext, Depends(app_context)]
) -> Health:
    session.execute(text("SELECT 1"))
    current = migrations.is_current(context.engine)
    return Health(
        status="ready" if current else "not-migrated",
        database=context.engine.dialect.name,
        schema_current=current,
        alerts=fixity_alerts(session) if current else [],
    )
