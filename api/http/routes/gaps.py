"""Recording gaps over HTTP: list them, and record why a recording stopped."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.deps import EVIDENCE_READERS, app_context
from api.http.gap_schemas import GapOut, gap_out
from api.http.problems import PROBLEM_SCHEMA
from api.http.schemas import Input
from api.http.work import Work, work_for
from ingest.gap_service import explain_gap, list_gaps
from ingest.gaps import GapCause
from vault.models import Role, User

router = APIRouter(tags=["recording gaps"], responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA})
Reader = Annotated[Work, Depends(work_for(*EVIDENCE_READERS))]
Explainer = Annotated[Work, Depends(work_for(Role.CUSTODIAN, Role.INVESTIGATOR))]
Context = Annotated[AppContext, Depends(app_context)]


class GapExplainIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"before": "3f2a9c81d0e4", "after": "9c01e5f4b1a0", "cause": "low_battery",
                 "explanation": "battery ran out at 02:14; spare fitted"}
            ]
        },
    )  # fmt: skip

    before: str = Field(min_length=1, max_length=100)
    after: str = Field(min_length=1, max_length=100)
    cause: GapCause
    explanation: str = Field(default="", max_length=2000)


@router.get("/gaps", response_model=list[GapOut])
async def get_gaps(
    work: Reader, context: Context, device: str | None = None, unexplained: bool = True
) -> list[GapOut]:
    """Gaps inside incidents (by default only those nobody has explained yet)."""

    def listed(session: Session, _: User) -> list[GapOut]:
        found = list_gaps(session, context.settings, device=device)
        return [gap_out(f) for f in found if not (unexplained and f.explanation)]

    return await work(listed)


@router.post(
    "/gaps/explanations", response_model=GapOut, status_code=status.HTTP_201_CREATED,
    responses={404: PROBLEM_SCHEMA, 409: PROBLEM_SCHEMA, 422: PROBLEM_SCHEMA},
)  # fmt: skip
async def post_explanation(work: Explainer, context: Context, body: GapExplainIn) -> GapOut:
    """Record why the recording stopped: a gap_explained event on both clips' chains."""

    def explained(session: Session, user: User) -> GapOut:
        row = explain_gap(session, context.settings, before=body.before, after=body.after,
                          cause=body.cause, text=body.explanation, user=user)  # fmt: skip
        found = next(
            f for f in list_gaps(session, context.settings)
            if (f.gap.before, f.gap.after) == (row.before_item_id, row.after_item_id)
        )  # fmt: skip
        return gap_out(found)

    return await work(explained)
