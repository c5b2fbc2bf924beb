"""Auditors' pages for the custody log's proofs: the checkpoints with the log's keys, and a
recording's proof bundle as JSON for the in-browser check (static/verify-proofs.js), the same
document the API's /items/{ref}/proofs returns, into a checkpoint the auditor chooses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse, Response

from api.http.deps import SessionDep
from api.http.routes.proofs import bundle_out
from api.web.guard import allowed, html, secure
from api.web.one_call import PageRouter
from api.web.pages import Person, render_for
from custody.log import proofs
from custody.log.checkpoints import (
    export_witness,
    find_checkpoint,
    latest_checkpoint,
    recent_checkpoints,
)
from custody.log.keys import list_keys
from custody.log.signed_note import verifier_key
from vault.items import find_item
from vault.models import Role

router = PageRouter(include_in_schema=False)
PROOF_READERS = (Role.AUDITOR, Role.CUSTODIAN)  # as the API's proof routes
CHECKPOINTS_PAGE = 50


@router.get("/recordings/{ref}/proofs.json")
def recording_proofs(
    who: Person,
    session: SessionDep,
    ref: str,
    checkpoint: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    allowed(who, *PROOF_READERS)
    item = find_item(session, ref)
    into = find_checkpoint(session, checkpoint) if checkpoint else latest_checkpoint(session)
    bundle = bundle_out(proofs.item_bundle(session, item.id, into))
    return secure(JSONResponse(bundle.model_dump(mode="json")))


@router.get("/custody-checkpoints")
def checkpoints(
    who: Person,
    session: SessionDep,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
) -> Response:
    allowed(who, Role.AUDITOR, Role.ADMIN)
    found = recent_checkpoints(session, limit=CHECKPOINTS_PAGE + 1,
                               offset=(page_number - 1) * CHECKPOINTS_PAGE)  # fmt: skip
    keys = [(k, verifier_key(k.name, bytes(k.public_key))) for k in list_keys(session)]
    return html(render_for(who, "checkpoints.html", checkpoints=found[:CHECKPOINTS_PAGE],
                           keys=keys, page=page_number,
                           more=len(found) > CHECKPOINTS_PAGE))  # fmt: skip


@router.get("/custody-checkpoints/witness.json")
def witness_export(who: Person, session: SessionDep) -> Response:
    """The latest checkpoint and the log's keys, for an outside party to keep (as `evault
    checkpoint export`): a later `evault audit verify --against` or export proves the log
    still extends it."""
    allowed(who, Role.AUDITOR, Role.ADMIN)
    witness = export_witness(session)
    return secure(Response(witness.to_json(), media_type="application/json", headers={
        "Content-Disposition": 'attachment; filename="evidence-vault-witness.json"'}))  # fmt: skip
