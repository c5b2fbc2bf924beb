"""Legal holds and the retention policy in the console: an approver places a hold (reason and
reference: a court order, a case number) and releases it with a reason; everyone who oversees
retention reads the policy in force, and an admin edits it, refused with the count of the
recordings an edit would shorten. The same services and request models as the API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from api.context import AppContext
from api.http.deps import SessionDep, app_context
from api.http.retention_schemas import HoldIn, PolicyIn, ReasonIn
from api.http.routes.retention import edited_policy
from api.web.forms import WHOLE_FORM, FormErrors, parsed, refusal
from api.web.guard import Visitor, allowed, check_csrf, html, redirect
from api.web.one_call import PageRouter
from api.web.pages import Person, render_for
from api.web.retention_pages import OVERSEERS
from retention import changes, holds
from retention.policy import current_policy, current_version
from vault.errors import VaultError
from vault.models import Role

router = PageRouter(include_in_schema=False)
Context = Annotated[AppContext, Depends(app_context)]
Csrf = Annotated[str, Form(max_length=100)]
Text = Annotated[str, Form(max_length=4000)]
HOLD_PHRASES = {"reference": "reference", "reason": "reason", "no item": "item",
                "destroyed": "item", "matches": "item"}  # fmt: skip


def _holds(who: Visitor, session: SessionDep, *, form: dict[str, str] | None = None,
           errors: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    body = render_for(who, "holds.html", holds=holds.list_holds(session), form=form or {},
                      errors=errors or {}, whole=WHOLE_FORM)  # fmt: skip
    return html(body, status=status)


@router.get("/legal-holds")
def legal_holds(who: Person, session: SessionDep) -> Response:
    allowed(who, *OVERSEERS)
    return _holds(who, session)


@router.post("/legal-holds")
def hold_place(
    request: Request, who: Person, session: SessionDep, context: Context, *, csrf: Csrf = "",
    item: Annotated[str, Form(max_length=200)] = "", reason: Text = "",
    reference: Annotated[str, Form(max_length=400)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.APPROVER)
    form = {"item": item, "reason": reason, "reference": reference}
    try:
        body = parsed(HoldIn, {"reason": reason, "reference": reference})
        try:
            holds.place_hold(session, context.stores, item.strip(), user=who.user,
                             reason=body.reason, reference=body.reference)  # fmt: skip
        except VaultError as exc:
            raise refusal(exc, HOLD_PHRASES) from None
    except FormErrors as exc:
        session.rollback()
        return _holds(who, session, form=form, errors=exc.errors, status=422)
    return redirect("/legal-holds")


@router.post("/legal-holds/{hold}/release")
def hold_release(
    request: Request, who: Person, session: SessionDep, context: Context, hold: uuid.UUID, *,
    csrf: Csrf = "", reason: Text = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.APPROVER)
    try:
        body = parsed(ReasonIn, {"reason": reason})
        try:
            holds.release_hold(session, context.stores, hold, user=who.user, reason=body.reason)
        except VaultError as exc:
            raise FormErrors({f"release-{hold}": str(exc)}) from None
    except FormErrors as exc:
        session.rollback()
        errors = {f"release-{hold}" if k == "reason" else k: v for k, v in exc.errors.items()}
        return _holds(who, session, errors=errors, status=422)
    return redirect("/legal-holds")


def _policy(who: Visitor, session: SessionDep, *, form: dict[str, str] | None = None,
            errors: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    body = render_for(who, "policy.html", version=current_version(session),
                      policy=current_policy(session), form=form or {}, errors=errors or {},
                      whole=WHOLE_FORM)  # fmt: skip
    return html(body, status=status)


@router.get("/retention-policy")
def policy(who: Person, session: SessionDep) -> Response:
    allowed(who, *OVERSEERS)
    return _policy(who, session)


@router.post("/retention-policy")
def policy_edit(
    request: Request, who: Person, session: SessionDep, context: Context, *, csrf: Csrf = "",
    reason: Text = "", case_years: Annotated[str, Form(max_length=10)] = "",
    unattached_years: Annotated[str, Form(max_length=10)] = "",
    floor_months: Annotated[str, Form(max_length=10)] = "",
    permanent_case_flags: Annotated[str, Form(max_length=1000)] = "",
    permanent_categories: Annotated[str, Form(max_length=1000)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.ADMIN)
    form = {"reason": reason, "case_years": case_years, "unattached_years": unattached_years,
            "floor_months": floor_months, "permanent_case_flags": permanent_case_flags,
            "permanent_categories": permanent_categories}  # fmt: skip
    given = {k: v.strip() for k, v in form.items() if v.strip() and k.endswith(("years", "months"))}
    lists = {k: [x.strip() for x in form[k].split(",") if x.strip()]
             for k in ("permanent_case_flags", "permanent_categories")}  # fmt: skip
    try:
        body = parsed(PolicyIn, {"reason": reason, **given, **lists})
        try:
            new = edited_policy(current_policy(session), body)
            changes.edit_policy(session, context.stores, new, user=who.user, reason=body.reason)
        except VaultError as exc:
            raise refusal(exc, {"shorten": WHOLE_FORM}) from None
        except ValueError as exc:  # the policy's own rules (a floor above a term, …)
            raise FormErrors({WHOLE_FORM: str(exc)}) from None
    except FormErrors as exc:
        session.rollback()
        return _policy(who, session, form=form, errors=exc.errors, status=409 if any(
            "shorten" in v for v in exc.errors.values()) else 422)  # fmt: skip
    return redirect("/retention-policy")
