"""Cases, recording gaps and flagged recordings in the console: open a case, attach recordings,
close and flag it; say why a camera stopped recording; release a recording the virus check
flagged. The same services, request models and role rules as the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response

from api.context import AppContext
from api.http.deps import EVIDENCE_READERS, SessionDep, app_context
from api.http.retention_schemas import CaseFlagsIn, ReasonIn
from api.http.routes.gaps import GapExplainIn
from api.http.schemas import CaseIn, CaseItemsIn
from api.web.forms import WHOLE_FORM, FormErrors, beside, parsed, refusal
from api.web.guard import Visitor, allowed, check_csrf, html, redirect
from api.web.one_call import PageRouter
from api.web.pages import Person, render_for
from custody.access.virus_release import flagged_counts, flagged_items, release_infected
from ingest.gap_service import explain_gap, list_gaps
from ingest.gaps import GapCause
from retention import changes
from vault.cases import find_case, list_cases, open_case
from vault.errors import VaultError
from vault.models import CaseFlag, Role

router = PageRouter(include_in_schema=False)
Context = Annotated[AppContext, Depends(app_context)]
Csrf = Annotated[str, Form(max_length=100)]
CASE_WORKERS = (Role.CUSTODIAN, Role.INVESTIGATOR)
CASE_PHRASES = {"case number": "number", "already": "number", "title": "title"}
FLAGGED_PAGE = 100  # a vault run without a scanner has every recording unscanned


def _cases(who: Visitor, session: SessionDep, form: dict[str, str], errors: dict[str, str],
           status: int = 200) -> Response:  # fmt: skip
    body = render_for(who, "cases.html", cases=list_cases(session), form=form, errors=errors,
                      whole=WHOLE_FORM, flags=[f.value for f in CaseFlag])  # fmt: skip
    return html(body, status=status)


@router.get("/case-files")
def cases(who: Person, session: SessionDep) -> Response:
    allowed(who, *EVIDENCE_READERS)
    return _cases(who, session, {}, {})


@router.post("/case-files")
def case_open(
    request: Request, who: Person, session: SessionDep, *, csrf: Csrf = "",
    number: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=1000)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, *CASE_WORKERS)
    form = {"number": number, "title": title}
    try:
        body = parsed(CaseIn, form)
        try:
            case = open_case(session, number=body.number, title=body.title, flags=body.flags)
        except VaultError as exc:
            raise refusal(exc, CASE_PHRASES) from None
    except FormErrors as exc:
        return _cases(who, session, form, exc.errors, 422)
    return redirect(f"/case-files/{case.number}")


def _case(who: Visitor, session: SessionDep, number: str, errors: dict[str, str],
          status: int = 200) -> Response:  # fmt: skip
    body = render_for(who, "case.html", case=find_case(session, number), errors=errors,
                      whole=WHOLE_FORM, flags=[f.value for f in CaseFlag])  # fmt: skip
    return html(body, status=status)


@router.get("/case-files/{number}")
def case_page(who: Person, session: SessionDep, number: str) -> Response:
    allowed(who, *EVIDENCE_READERS)
    return _case(who, session, number, {})


@router.post("/case-files/{number}/items")
def case_attach(
    request: Request, who: Person, session: SessionDep, context: Context, number: str, *,
    csrf: Csrf = "", items: Annotated[str, Form(max_length=20000)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, *CASE_WORKERS)
    try:
        body = parsed(CaseItemsIn, {"items": items.split()})
        try:
            changes.attach(session, context.stores, number, body.items, user=who.user)
        except VaultError as exc:
            raise beside(exc, "items") from None
    except FormErrors as exc:
        return _case(who, session, number, exc.errors, 422)
    return redirect(f"/case-files/{number}")


@router.post("/case-files/{number}/close")
def case_close(
    request: Request, who: Person, session: SessionDep, context: Context, number: str, *,
    csrf: Csrf = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.CUSTODIAN)
    try:
        changes.close_case(session, context.stores, number, user=who.user)
    except VaultError as exc:
        return _case(who, session, number, beside(exc, WHOLE_FORM).errors, 409)
    return redirect(f"/case-files/{number}")


@router.post("/case-files/{number}/flags")
def case_flag(
    request: Request, who: Person, session: SessionDep, context: Context, number: str, *,
    csrf: Csrf = "", flag: Annotated[str, Form(max_length=40)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.CUSTODIAN)
    try:
        body = parsed(CaseFlagsIn, {"flags": [flag]})
        try:
            changes.flag_case(session, context.stores, number, body.flags, user=who.user)
        except VaultError as exc:
            raise beside(exc, "flags") from None
    except FormErrors as exc:
        return _case(who, session, number, exc.errors, 422)
    return redirect(f"/case-files/{number}")


def _gaps(who: Visitor, session: SessionDep, context: AppContext, errors: dict[str, str],
          status: int = 200, *, sent: dict[str, str] | None = None) -> Response:  # fmt: skip
    """The gaps page; after a refusal, ``sent`` is the refused form, shown again as typed."""
    found = list_gaps(session, context.settings)
    body = render_for(who, "gaps.html", gaps=found, errors=errors, whole=WHOLE_FORM,
                      causes=[c.value for c in GapCause], sent=sent or {})  # fmt: skip
    return html(body, status=status)


@router.get("/recording-gaps")
def gaps(who: Person, session: SessionDep, context: Context) -> Response:
    allowed(who, *EVIDENCE_READERS)
    return _gaps(who, session, context, {})


@router.post("/recording-gaps")
def gap_explain(
    request: Request, who: Person, session: SessionDep, context: Context, *, csrf: Csrf = "",
    before: Annotated[str, Form(max_length=200)] = "",
    after: Annotated[str, Form(max_length=200)] = "",
    cause: Annotated[str, Form(max_length=40)] = "",
    explanation: Annotated[str, Form(max_length=4000)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, *CASE_WORKERS)
    try:
        body = parsed(GapExplainIn, {"before": before, "after": after, "cause": cause,
                                     "explanation": explanation})  # fmt: skip
        try:
            explain_gap(session, context.settings, before=body.before, after=body.after,
                        cause=body.cause, text=body.explanation, user=who.user)  # fmt: skip
        except VaultError as exc:
            raise refusal(exc, {"explanation": "explanation", "other": "explanation"}) from None
    except FormErrors as exc:
        errors = {f"{before}/{after}/{k}": v for k, v in exc.errors.items()}
        sent = {"key": f"{before}/{after}", "cause": cause, "explanation": explanation}
        return _gaps(who, session, context, errors, 422, sent=sent)
    return redirect("/recording-gaps")


def _flagged(who: Visitor, session: SessionDep, errors: dict[str, str],
             status: int = 200, page: int = 1) -> Response:  # fmt: skip
    found = flagged_items(session, limit=FLAGGED_PAGE + 1, offset=(page - 1) * FLAGGED_PAGE)
    body = render_for(who, "flagged.html", items=found[:FLAGGED_PAGE], errors=errors,
                      whole=WHOLE_FORM, counts=flagged_counts(session), page=page,
                      more=len(found) > FLAGGED_PAGE)  # fmt: skip
    return html(body, status=status)


@router.get("/flagged-recordings")
def flagged(
    who: Person,
    session: SessionDep,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
) -> Response:
    allowed(who, Role.CUSTODIAN, Role.APPROVER, Role.AUDITOR)
    return _flagged(who, session, {}, page=page_number)


@router.post("/flagged-recordings/{ref}/release")
def release(
    request: Request, who: Person, session: SessionDep, ref: str, *, csrf: Csrf = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.APPROVER)
    try:
        body = parsed(ReasonIn, {"reason": reason})
        try:
            release_infected(session, ref=ref, approver=who.user, reason=body.reason)
        except VaultError as exc:
            raise beside(exc, "reason") from None
    except FormErrors as exc:
        return _flagged(who, session, {f"{ref}/{k}": v for k, v in exc.errors.items()}, 422)
    return redirect("/flagged-recordings")
