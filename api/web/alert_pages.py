"""Acknowledging an alert from the dashboard: a custodian or admin says what was done, and
the alert leaves the open list. The same service and request model as the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from api.http.deps import SessionDep
from api.http.retention_schemas import ReasonIn
from api.web.forms import FormErrors, beside, parsed
from api.web.guard import allowed, check_csrf, redirect
from api.web.one_call import PageRouter
from api.web.pages import Person, dashboard_page
from custody.admin.acts import ALERT_KEEPERS, acknowledge_alert
from vault.errors import VaultError

router = PageRouter(include_in_schema=False)


@router.post("/acknowledged-alerts/{ref}")
def acknowledge(
    request: Request, who: Person, session: SessionDep, ref: str, *,
    csrf: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, *ALERT_KEEPERS)
    try:
        body = parsed(ReasonIn, {"reason": reason})
        try:
            acknowledge_alert(session, user=who.user, ref=ref, reason=body.reason)
        except VaultError as exc:
            raise beside(exc, "reason") from None
    except FormErrors as exc:
        session.rollback()
        return dashboard_page(who, session, {f"{ref}/{k}": v for k, v in exc.errors.items()}, 422)
    return redirect("/")
