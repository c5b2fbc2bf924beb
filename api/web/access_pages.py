"""Access requests in the console: the request form, "my requests" with the time left, the
approver's queue with approve and refuse, playback of an approved view in a <video>, the
download of a copy and the export of an approved export request.

Every rule is the service's (custody.access.requests); the bytes go through the same function
as the JSON API's delivery route (api.http.delivery_response), so a playback is the same
custody event, committed before the first byte, as any delivery (invariant 3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from api.context import AppContext
from api.http.delivery_response import delivery_response
from api.http.deps import SessionDep, app_context
from api.http.export_schemas import ExportIn
from api.http.routes.exports import export_response
from api.http.schemas import DecisionIn, RequestIn
from api.web.forms import WHOLE_FORM, FormErrors, parsed, refusal
from api.web.guard import Visitor, allowed, check_csrf, html, redirect
from api.web.one_call import PageRouter
from api.web.pages import Person, render_for
from custody.access import requests as access
from custody.access.models import AccessRequest, Purpose, RequesterKind, RequestStatus
from vault.db import utcnow
from vault.errors import AccessDenied, NotFound, VaultError
from vault.items import find_item
from vault.models import Role

router = PageRouter(include_in_schema=False)
Context = Annotated[AppContext, Depends(app_context)]
READERS = (Role.INVESTIGATOR, Role.APPROVER, Role.AUDITOR, Role.CUSTODIAN)
# Which field a service refusal is about, by the words the API's message uses.
REQUEST_PHRASES = {
    "needs a reason": "reason",
    "runs 1 to": "period_days",
    "name the items": "items",
    "no case": "case",
    "document reference": "document_ref",
    "identity document": "identity_ref",
    "organisation": "organisation",
    "no item": "items",
    "none of the named items": "items",
}
EXPORT_PHRASES = {"recipient": "recipient", "reason": "reason"}


def _visible(session: SessionDep, who: Visitor, ref: str) -> AccessRequest:
    found = access.find_request(session, ref)
    if found not in access.visible_requests(session, who.user):
        raise NotFound(f"no access request {ref!r}")
    return found


def _why_not(session: SessionDep, who: Visitor, request: AccessRequest, item: str) -> str | None:
    """The service's own reason this person may not receive the item now, or None."""
    try:
        access.authorize_delivery(session, ref=request.number, item_ref=item, user=who.user)
    except VaultError as exc:
        return str(exc)
    return None


@router.get("/access")
def request_list(who: Person, session: SessionDep) -> Response:
    allowed(who, *READERS)
    requests = access.visible_requests(session, who.user)
    queue = []
    if who.user.has_any(frozenset({Role.APPROVER})):
        pending = (r for r in requests if r.status == RequestStatus.PENDING)
        queue = [r for r in pending if r.requester_id != who.user.id]
    mine = [r for r in requests if r.requester_id == who.user.id]
    others = [r for r in requests if r.requester_id != who.user.id]
    return html(render_for(who, "access_list.html", queue=queue, mine=mine, others=others,
                           now=utcnow()))  # fmt: skip


def _new_form(who: Visitor, form: dict[str, str], errors: dict[str, str], status: int) -> Response:
    body = render_for(who, "access_new.html", form=form, errors=errors, whole=WHOLE_FORM,
                      purposes=[p.value for p in Purpose],
                      kinds=[k.value for k in RequesterKind])  # fmt: skip
    return html(body, status=status)


@router.get("/access/new")
def request_form(who: Person, item: str = "", case: str = "") -> Response:
    allowed(who, Role.INVESTIGATOR)
    form = {"items": item[:2000], "case": case[:100], "purpose": "view", "period_days": "3",
            "requester_kind": "internal"}  # fmt: skip
    return _new_form(who, form, {}, 200)


@router.post("/access/new")
def request_create(
    request: Request,
    who: Person,
    session: SessionDep,
    context: Context,
    *,
    csrf: Annotated[str, Form(max_length=100)] = "",
    items: Annotated[str, Form(max_length=20000)] = "",
    case: Annotated[str, Form(max_length=200)] = "",
    purpose: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    period_days: Annotated[str, Form(max_length=10)] = "3",
    requester_kind: Annotated[str, Form(max_length=40)] = "internal",
    organisation: Annotated[str, Form(max_length=400)] = "",
    document_ref: Annotated[str, Form(max_length=400)] = "",
    identity_ref: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.INVESTIGATOR)
    form = dict(items=items, case=case, purpose=purpose, reason=reason, period_days=period_days,
                requester_kind=requester_kind, organisation=organisation,
                document_ref=document_ref, identity_ref=identity_ref)  # fmt: skip
    try:
        body = parsed(RequestIn, {**form, "items": items.split(), "case": case.strip() or None})
        new = access.NewRequest(
            purpose=body.purpose, reason=body.reason, items=body.items, case=body.case,
            period_days=body.period_days, requester_kind=body.requester_kind,
            organisation=body.organisation, document_ref=body.document_ref,
            identity_ref=body.identity_ref,
        )  # fmt: skip
        try:  # the service refuses before it adds anything: nothing half-made is committed
            created = access.create_request(
                session, user=who.user, new=new, zone=context.settings.display_timezone,
                views_need_approval=context.settings.views_need_approval,
            )  # fmt: skip
        except VaultError as exc:
            raise refusal(exc, REQUEST_PHRASES) from None
    except FormErrors as exc:
        return _new_form(who, form, exc.errors, 422)
    return redirect(f"/access/{created.number}")


def _request_page(
    who: Visitor, session: SessionDep, found: AccessRequest, errors: dict[str, str],
    status: int = 200,
) -> Response:  # fmt: skip
    mine = found.requester_id == who.user.id
    blocked = {str(i.id): _why_not(session, who, found, str(i.id)) for i in found.items} if mine \
        else {}  # fmt: skip
    may_decide = (who.user.has_any(frozenset({Role.APPROVER})) and not mine
                  and found.status == RequestStatus.PENDING)  # fmt: skip
    body = render_for(who, "access_request.html", r=found, mine=mine, blocked=blocked,
                      may_decide=may_decide, errors=errors, whole=WHOLE_FORM,
                      now=utcnow())  # fmt: skip
    return html(body, status=status)


@router.get("/access/{ref}")
def request_page(who: Person, session: SessionDep, ref: str) -> Response:
    allowed(who, *READERS)
    return _request_page(who, session, _visible(session, who, ref), {})


@router.post("/access/{ref}/decision")
def request_decision(
    request: Request,
    who: Person,
    session: SessionDep,
    ref: str,
    *,
    csrf: Annotated[str, Form(max_length=100)] = "",
    decision: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.APPROVER)
    found = _visible(session, who, ref)
    if decision not in ("approve", "refuse"):
        return _request_page(who, session, found, {WHOLE_FORM: "approve or refuse"}, 422)
    try:
        body = parsed(DecisionIn, {"reason": reason})
        try:
            access.decide(session, ref=found.number, approver=who.user,
                          approve=decision == "approve", reason=body.reason)  # fmt: skip
        except VaultError as exc:
            raise refusal(exc, {"needs a reason": "reason"}) from None
    except FormErrors as exc:
        return _request_page(who, session, _visible(session, who, ref), exc.errors, 409)
    return redirect(f"/access/{found.number}")


@router.get("/access/{ref}/play/{item}")
def player(who: Person, session: SessionDep, ref: str, item: str) -> Response:
    allowed(who, Role.INVESTIGATOR)
    found = _visible(session, who, ref)
    recording = find_item(session, item)
    why_not = _why_not(session, who, found, str(recording.id))
    if why_not is None and found.purpose != Purpose.VIEW:
        why_not = f"request {found.number} is for a {found.purpose.value}: download it instead"
    body = render_for(who, "play.html", r=found, item=recording, why_not=why_not)
    return html(body, status=200 if why_not is None else 403)


@router.get("/access/{ref}/items/{item}/content", response_model=None)
def content(
    who: Person,
    session: SessionDep,
    context: Context,
    request: Request,
    *,
    ref: str,
    item: str,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> StreamingResponse | JSONResponse:
    """The player's source and the download buttons' target: the JSON API's delivery."""
    allowed(who, Role.INVESTIGATOR)
    return delivery_response(user=who.user, session=session, context=context, request=request,
                             ref=ref, item=item, range_header=range_header)  # fmt: skip


@router.post("/access/{ref}/export")
def export(
    request: Request,
    who: Person,
    session: SessionDep,
    context: Context,
    ref: str,
    *,
    csrf: Annotated[str, Form(max_length=100)] = "",
    recipient: Annotated[str, Form(max_length=400)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    watermark: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.INVESTIGATOR)
    found = _visible(session, who, ref)
    if found.requester_id != who.user.id:
        raise AccessDenied(f"request {found.number} is not yours")
    user_id, number = who.user.id, found.number
    try:
        body = parsed(ExportIn, {"recipient": recipient, "reason": reason,
                                 "watermark": bool(watermark)})  # fmt: skip
        # The export runs units of work of its own: this one ends here and is not touched
        # again (a new transaction would take SQLite's write lock and the export would wait).
        session.commit()
        try:
            return export_response(user_id=user_id, context=context, ref=number, body=body)
        except VaultError as exc:
            raise refusal(exc, EXPORT_PHRASES) from None
    except FormErrors as exc:
        return _request_page(who, session, _visible(session, who, ref), exc.errors, 422)
