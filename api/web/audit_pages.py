"""Pages for auditors: the sign-in record (who, when, from where), read from the hash-chained
administration log that `evault audit verify` checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.http.deps import SessionDep
from api.web.guard import allowed, html
from api.web.pages import Person, render_for
from custody.admin.log import sign_in_record
from vault.models import Role

router = APIRouter(include_in_schema=False)
SIGN_INS_PAGE = 100


@router.get("/sign-ins")
def sign_ins(
    who: Person,
    session: SessionDep,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
) -> Response:
    allowed(who, Role.AUDITOR, Role.ADMIN)
    found = sign_in_record(session, limit=SIGN_INS_PAGE + 1,
                           offset=(page_number - 1) * SIGN_INS_PAGE)  # fmt: skip
    return html(render_for(who, "sign_ins.html", entries=found[:SIGN_INS_PAGE],
                           page=page_number, more=len(found) > SIGN_INS_PAGE))  # fmt: skip
