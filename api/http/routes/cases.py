"""Cases: open one, attach items to it (recorded on each item's custody chain), read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.context import AppContext
from api.http.convert import case_out
from api.http.deps import EVIDENCE_READERS, app_context
from api.http.problems import PROBLEM_SCHEMA
from api.http.schemas import CaseIn, CaseItemsIn, CaseOut
from api.http.work import Work, work_for
from retention import changes
from vault.cases import find_case, list_cases, open_case
from vault.models import Role

router = APIRouter(
    tags=["cases"], responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA}
)
Reader = Annotated[Work, Depends(work_for(*EVIDENCE_READERS))]
CaseWorker = Annotated[Work, Depends(work_for(Role.CUSTODIAN, Role.INVESTIGATOR))]


@router.post(
    "/cases", response_model=CaseOut, status_code=status.HTTP_201_CREATED,
    responses={409: PROBLEM_SCHEMA},
)  # fmt: skip
async def post_case(work: CaseWorker, body: CaseIn) -> CaseOut:
    """Open a case. Flags (major, litigation, complaint, permanent) feed retention rules."""
    return await work(
        lambda session, _: case_out(
            open_case(session, number=body.number, title=body.title, flags=body.flags)
        )
    )


@router.get("/cases", response_model=list[CaseOut])
async def get_cases(work: Reader) -> list[CaseOut]:
    return await work(lambda session, _: [case_out(c) for c in list_cases(session)])


@router.get("/cases/{number}", response_model=CaseOut)
async def get_case(work: Reader, number: str) -> CaseOut:
    return await work(lambda session, _: case_out(find_case(session, number)))


@router.post("/cases/{number}/items", response_model=CaseOut, responses={409: PROBLEM_SCHEMA})
async def post_case_items(
    work: CaseWorker,
    context: Annotated[AppContext, Depends(app_context)],
    number: str,
    body: CaseItemsIn,
) -> CaseOut:
    """Attach items (ids or digest prefixes). An item already in another case is refused.
    Each item's retention follows the case (retention_extended, and the stores' lock)."""
    return await work(
        lambda session, user: case_out(
            changes.attach(session, context.stores, number, body.items, user=user)
        )
    )
