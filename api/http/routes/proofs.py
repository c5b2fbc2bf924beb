"""Routes for auditors (read-only): checkpoints, keys, inclusion and consistency proofs, an
item's proof bundle (custody checkable without trusting the vault), and fixity status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.http.convert import event_out
from api.http.problems import PROBLEM_SCHEMA
from api.http.proof_schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    EntryProofOut,
    FixityOut,
    InclusionProofOut,
    KeyOut,
    ProofBundleOut,
    QuarantinedOut,
    b64,
)
from api.http.work import Work, work_for
from custody.fixity import checks as fixity
from custody.log import proofs
from custody.log.checkpoints import all_checkpoints, latest_checkpoint
from custody.log.keys import list_keys
from custody.log.proof_models import Checkpoint
from custody.log.signed_note import verifier_key
from vault.errors import NotFound
from vault.items import find_item
from vault.models import Role, User

router = APIRouter(
    tags=["proofs"], responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA}
)
Auditor = Annotated[Work, Depends(work_for(Role.AUDITOR, Role.CUSTODIAN))]


def checkpoint_out(checkpoint: Checkpoint) -> CheckpointOut:
    return CheckpointOut(
        id=checkpoint.id,
        tree_size=checkpoint.tree_size,
        root_hash=b64(bytes(checkpoint.root_hash)),
        created_at=checkpoint.created_at,
        key_id=checkpoint.key_id,
        note=checkpoint.note,
        timestamped=checkpoint.timestamp_token is not None,
        renews=checkpoint.renews_id,
    )


@router.get("/checkpoints", response_model=list[CheckpointOut], summary="Every checkpoint")
async def get_checkpoints(work: Auditor) -> list[CheckpointOut]:
    """Oldest first. Each note verifies with a key from /keys."""
    return await work(lambda session, _: [checkpoint_out(c) for c in all_checkpoints(session)])


@router.get("/checkpoints/latest", response_model=CheckpointOut, summary="The latest checkpoint")
async def get_latest_checkpoint(work: Auditor) -> CheckpointOut:
    def latest(session: Session, _: User) -> CheckpointOut:
        found = latest_checkpoint(session)
        if found is None:
            raise NotFound("no checkpoint has been signed yet")
        return checkpoint_out(found)

    return await work(latest)


@router.get("/keys", response_model=list[KeyOut], summary="The log's public keys")
async def get_keys(work: Auditor) -> list[KeyOut]:
    """Every key the log has signed with, retired ones included."""
    return await work(lambda session, _: keys_out(session))


def keys_out(session: Session) -> list[KeyOut]:
    return [
        KeyOut(
            key_id=k.key_id,
            name=k.name,
            created_at=k.created_at,
            retired_at=k.retired_at,
            verifier_key=verifier_key(k.name, bytes(k.public_key)),
        )
        for k in list_keys(session)
    ]


@router.get("/proofs/inclusion", response_model=InclusionProofOut, responses={422: PROBLEM_SCHEMA})
async def get_inclusion_proof(
    work: Auditor,
    seq: Annotated[int, Query(ge=1, description="the custody entry", examples=[17])],
    size: Annotated[
        int | None, Query(ge=1, description="tree size (default: the latest checkpoint's)")
    ] = None,
) -> InclusionProofOut:
    """Proves entry ``seq`` is in the tree of ``size`` entries."""
    tree_size, path = await work(lambda session, _: proofs.inclusion(session, seq=seq, size=size))
    return InclusionProofOut(
        seq=seq, leaf_index=seq - 1, tree_size=tree_size, proof=[b64(h) for h in path]
    )


@router.get(
    "/proofs/consistency", response_model=ConsistencyProofOut, responses={422: PROBLEM_SCHEMA}
)
async def get_consistency_proof(
    work: Auditor,
    old: Annotated[int, Query(ge=1, description="the older tree size", examples=[9])],
    new: Annotated[int, Query(ge=1, description="the newer tree size", examples=[18])],
) -> ConsistencyProofOut:
    """Proves the tree of ``old`` entries is a prefix of the tree of ``new`` entries."""
    path = await work(lambda session, _: proofs.consistency(session, old_size=old, new_size=new))
    return ConsistencyProofOut(old_size=old, new_size=new, proof=[b64(h) for h in path])


@router.get("/items/{ref}/proofs", response_model=ProofBundleOut, tags=["items"])
async def get_item_proofs(work: Auditor, ref: str) -> ProofBundleOut:
    """The item's custody entries with their exact bytes and inclusion proofs into the latest
    checkpoint, the checkpoint itself and the log's keys: checkable offline."""
    return await work(
        lambda session, _: bundle_out(proofs.item_bundle(session, find_item(session, ref).id))
    )


def bundle_out(bundle: proofs.ProofBundle) -> ProofBundleOut:
    """The bundle as the API and the console's in-browser check receive it."""
    return ProofBundleOut(
        checkpoint=checkpoint_out(bundle.checkpoint),
        verifier_keys=bundle.verifier_keys,
        entries=[
            EntryProofOut(
                event=event_out(e.event),
                canonical=e.canonical.decode(),
                leaf_hash=b64(e.leaf_hash),
                proof=None if e.proof is None else [b64(h) for h in e.proof],
            )
            for e in bundle.entries
        ],
    )


@router.get("/fixity", response_model=FixityOut, summary="Fixity schedule and alerts")
async def get_fixity(work: Auditor) -> FixityOut:
    """How many stored copies are ok, unchecked, failed or repaired; which are quarantined."""
    return await work(lambda session, _: fixity_out(session))


def fixity_out(session: Session) -> FixityOut:
    """GET /fixity's document, and `evault fixity status --json`'s."""
    summary = fixity.summary(session)
    return FixityOut(
        by_status=summary.by_status,
        oldest_check=summary.oldest_check,
        quarantined=[
            QuarantinedOut(
                item_id=str(q.item_id),
                stored_copy=q.copy,
                status=q.status,
                quarantined_at=q.quarantined_at,
            )
            for q in fixity.quarantined(session)
        ],
        alerts=fixity.fixity_alerts(session),
    )
