"""Access requests, decisions, and delivery of recordings within an approved request.

Delivery always reads the access copy (the sealed set is never lent out) and goes through
custody.access.delivery.deliver, which commits the custody event before the first byte
(invariant 3).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, status
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.convert import request_out
from api.http.delivery_response import delivery_response
from api.http.deps import app_context
from api.http.problems import PROBLEM_SCHEMA
from api.http.schemas import DecisionIn, RequestIn, RequestOut
from api.http.work import Work, work_for
from custody.access import requests as access
from vault.errors import NotFound
from vault.models import Role, User

router = APIRouter(
    tags=["access requests"],
    responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA},
)
Investigator = Annotated[Work, Depends(work_for(Role.INVESTIGATOR))]
Approver = Annotated[Work, Depends(work_for(Role.APPROVER))]
RequestReader = Annotated[
    Work, Depends(work_for(Role.INVESTIGATOR, Role.APPROVER, Role.AUDITOR, Role.CUSTODIAN))
]
Context = Annotated[AppContext, Depends(app_context)]


# OpenAPI links (3.0 section 4.7.10): how a client goes from a new request to its decision,
# and from an approved request to the bytes. Schemathesis follows them statefully.
_THIS_REQUEST = {"ref": "$request.path.ref"}
_NEW_REQUEST = {"ref": "$response.body#/number"}
_DECIDED_LINKS = {
    "DeliverFirstItem": {
        "operationId": "deliver_item",
        "parameters": {**_THIS_REQUEST, "item": "$response.body#/items/0"},
        "description": "An approved view or copy request's first item, as bytes.",
    },
    "ExportIt": {
        "operationId": "export_request",
        "parameters": _THIS_REQUEST,
        "description": "An approved export request, as a BagIt package.",
    },
    "ShowIt": {"operationId": "show_request", "parameters": _THIS_REQUEST},
}


@router.post(
    "/requests",
    operation_id="create_request",
    response_model=RequestOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {
            "description": "The request, pending unless views need no approval.",
            "links": {
                "ApproveIt": {
                    "operationId": "approve_request",
                    "parameters": _NEW_REQUEST,
                    "description": "An approver (not the requester) approves it.",
                },
                "RefuseIt": {"operationId": "refuse_request", "parameters": _NEW_REQUEST},
                "ShowIt": {"operationId": "show_request", "parameters": _NEW_REQUEST},
            },
        },
        422: PROBLEM_SCHEMA,
    },
)
async def post_request(work: Investigator, context: Context, body: RequestIn) -> RequestOut:
    """Ask for items (or every item of a case) for a purpose, with a reason and a period of
    at most 7 days. External requesters are recorded with their document references."""
    new = access.NewRequest(
        purpose=body.purpose,
        reason=body.reason,
        items=body.items,
        case=body.case,
        period_days=body.period_days,
        requester_kind=body.requester_kind,
        organisation=body.organisation,
        document_ref=body.document_ref,
        identity_ref=body.identity_ref,
    )
    return await work(
        lambda session, user: request_out(
            access.create_request(
                session, user=user, new=new, zone=context.settings.display_timezone,
                views_need_approval=context.settings.views_need_approval,
            )
        )
    )  # fmt: skip


@router.get("/requests", operation_id="list_requests", response_model=list[RequestOut])
async def get_requests(work: RequestReader) -> list[RequestOut]:
    """Investigators see their own requests; approvers, auditors and custodians see all."""
    return await work(
        lambda session, user: [request_out(r) for r in access.visible_requests(session, user)]
    )


@router.get("/requests/{ref}", operation_id="show_request", response_model=RequestOut)
async def get_request(work: RequestReader, ref: str) -> RequestOut:
    def shown(session: Session, user: User) -> RequestOut:
        found = access.find_request(session, ref)
        if found not in access.visible_requests(session, user):
            raise NotFound(f"no access request {ref!r}")
        return request_out(found)

    return await work(shown)


@router.post(
    "/requests/{ref}/approve",
    operation_id="approve_request",
    response_model=RequestOut,
    responses={200: {"description": "The approved request.", "links": _DECIDED_LINKS},
               409: PROBLEM_SCHEMA},
)  # fmt: skip
async def approve(work: Approver, ref: str, body: DecisionIn) -> RequestOut:
    """Approve someone else's pending request; its period starts now."""
    return await work(lambda session, user: decided(session, user, ref, body, approve=True))


@router.post(
    "/requests/{ref}/refuse",
    operation_id="refuse_request",
    response_model=RequestOut,
    responses={409: PROBLEM_SCHEMA},
)
async def refuse(work: Approver, ref: str, body: DecisionIn) -> RequestOut:
    return await work(lambda session, user: decided(session, user, ref, body, approve=False))


def decided(
    session: Session, user: User, ref: str, body: DecisionIn, *, approve: bool
) -> RequestOut:
    made = access.decide(session, ref=ref, approver=user, approve=approve, reason=body.reason)
    return request_out(made)


@router.get(
    "/requests/{ref}/items/{item}/content",
    operation_id="deliver_item",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "the whole access copy"},
        206: {"content": {"video/mp4": {}}, "description": "the byte range asked for"},
        409: PROBLEM_SCHEMA,
        416: PROBLEM_SCHEMA,
    },
)
async def get_content(
    work: Investigator,
    context: Context,
    request: Request,
    ref: str,
    item: str,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> StreamingResponse | JSONResponse:
    """Stream (purpose view) or download (copy_original) one item of an approved, unexpired
    request of yours. Supports `Range: bytes=…`, so a browser video element can seek."""
    return await work(
        lambda session, user: delivery_response(
            user=user, session=session, context=context, request=request, ref=ref, item=item,
            range_header=range_header,
        )
    )  # fmt: skip
