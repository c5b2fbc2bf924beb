"""Destruction: the only code that deletes evidence. It re-checks every precondition at the
moment of deletion, deletes through the store Protocol, makes the register signed by the
executor and then the supervisor, stores it for ever, and turns each item into a tombstone
(metadata, digests and the whole custody chain stay).

Three units of work: (1) check and mark the batch executing, (2) delete the objects, (3)
record the register and the destroyed events. A crash between them leaves the batch
executing; running the destruction again re-checks and resumes (deleting what is left).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from config.settings import Settings
from custody.fixity.models import FixityState
from custody.log.append import append_event
from custody.log.checkpoints import run_checkpoint_job
from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from retention.appraisal import find_batch, to_destroy
from retention.ends import item_objects
from retention.models import AppraisalBatch, AppraisalDecision, BatchStatus, LegalHold
from retention.register_pdf import RegisterFacts, RegisterRow, render_register
from vault.accounts import find_user
from vault.db import SessionFactory, unit_of_work, utcnow
from vault.derived import sidecars_kept_by_others
from vault.documents.fonts import register_cjk_font
from vault.documents.signing import sign_pdf
from vault.errors import NotFound, RetentionViolation, VaultError
from vault.models import EvidenceItem, ItemStatus, Role, User
from vault.moments import for_people
from vault.pki import SignerFiles, user_signer
from vault.stores.factory import Stores
from vault.stores.protocol import DestructionOrder, Retention, read_chunks

log = logging.getLogger(__name__)

# Events that may follow an appraisal without the item counting as changed: reading it,
# checking it, and the destruction workflow's own steps.
UNCHANGING_KINDS = frozenset(
    {
        EventKind.FIXITY_OK, EventKind.VIEWED, EventKind.DOWNLOADED, EventKind.EXPORTED,
        EventKind.EXPORT_ABANDONED, EventKind.EXPORT_PACKAGED,
        EventKind.ACCESS_REQUESTED, EventKind.ACCESS_APPROVED, EventKind.ACCESS_REFUSED,
        EventKind.DESTRUCTION_APPROVED, EventKind.DESTRUCTION_SUPERVISED,
    }
)  # fmt: skip


@dataclass(frozen=True)
class DestructionResult:
    batch: str
    items: int
    objects_deleted: int
    objects_absent: int
    register_digest: str
    register_size: int
    checkpoint_size: int | None  # the signed checkpoint that covers the destroyed events


def _signers(settings: Settings, batch: AppraisalBatch, executor: User) -> list[str]:
    problems = []
    for name in (executor.username, batch.supervisor):
        try:
            user_signer(settings.keys_path, name or "")
        except FileNotFoundError as exc:
            problems.append(str(exc))
    return problems


def _item_problems(session: Session, batch: AppraisalBatch, d: AppraisalDecision) -> list[str]:
    item = session.get(EvidenceItem, d.item_id, with_for_update={"of": EvidenceItem})
    assert item is not None
    now, label = utcnow(), f"item {item.id}"
    if item.status != ItemStatus.PRESERVED:
        return [f"{label} is already {item.status}"]
    problems = []
    if item.retain_until is None:
        problems.append(f"{label} is now kept permanently ({item.retention_basis})")
    elif item.retain_until > now:
        problems.append(f"{label} is retained until {item.retain_until:%Y-%m-%d %H:%M:%S} UTC")
    holds = session.execute(
        select(LegalHold.reference)
        .where(LegalHold.item_id == item.id, LegalHold.released_at.is_(None))
    ).scalars().all()  # fmt: skip
    if holds:
        problems.append(f"{label} is under legal hold ({', '.join(holds)})")
    if item.case is not None and item.case.closed_at is None:
        problems.append(f"{label}: its case {item.case.number} is open again")
    if item.digest != d.digest_seen or item.retain_until != d.retain_until_seen:
        problems.append(f"{label} changed since appraisal (digest or retention end)")
    later = session.execute(
        select(CustodyEvent.seq, CustodyEvent.kind, CustodyEvent.data)
        .where(CustodyEvent.item_id == item.id, CustodyEvent.seq > d.appraised_seq)
        .order_by(CustodyEvent.seq)
    ).all()  # fmt: skip
    approved = any(
        kind == EventKind.DESTRUCTION_APPROVED and data.get("batch") == batch.number
        for _, kind, data in later
    )
    if not approved:
        problems.append(f"{label} has no destruction approval for batch {batch.number}")
    supervised = any(
        kind == EventKind.DESTRUCTION_SUPERVISED and data.get("batch") == batch.number
        for _, kind, data in later
    )
    if not supervised:
        problems.append(f"{label} has no record of supervision for batch {batch.number}")
    changed = [f"#{seq} {kind}" for seq, kind, _ in later if kind not in UNCHANGING_KINDS]
    if changed:
        problems.append(f"{label} changed since appraisal: {', '.join(changed)}")
    return problems


def check_preconditions(
    session: Session, settings: Settings, batch: AppraisalBatch, executor: User
) -> list[str]:
    """Every reason the batch may not be destroyed now (empty: it may)."""
    problems = []
    if batch.status not in (BatchStatus.APPROVED, BatchStatus.EXECUTING):
        return [f"batch {batch.number} is {batch.status}: only an approved batch is destroyed"]
    if not executor.has_any(frozenset({Role.EXECUTOR})):
        problems.append(f"{executor.username} does not hold the executor role")
    if batch.supervisor is None:
        problems.append("no supervisor has taken this batch: `evault retention supervise`")
    elif batch.supervisor == executor.username:
        problems.append("the executor and the supervisor must be two different people")
    if executor.username == batch.decided_by:
        problems.append("the principal who approved the batch cannot execute it")
    if batch.supervisor is not None:
        supervisor = find_user(session, batch.supervisor)
        if supervisor.disabled_at is not None or not supervisor.has_any(
            frozenset({Role.SUPERVISOR})
        ):
            problems.append(f"{batch.supervisor} no longer holds the supervisor role")
        problems += _signers(settings, batch, executor)
    for decision in to_destroy(batch):
        problems += _item_problems(session, batch, decision)
    return problems


def execute(
    factory: SessionFactory, stores: Stores, settings: Settings, number: str, *, executor: str
) -> DestructionResult:
    register_cjk_font(settings.document_font)  # fail before deleting anything
    with unit_of_work(factory) as session:
        batch = find_batch(session, number, lock=True)
        user = find_user(session, executor)
        problems = check_preconditions(session, settings, batch, user)
        if problems:
            raise RetentionViolation(
                f"destruction of batch {number} refused; nothing was deleted: "
                + "; ".join(problems)
            )
        batch.status, batch.executor = BatchStatus.EXECUTING.value, user.username
        targets = _targets(session, batch)
    deleted = absent = 0
    for item_id, sealed, access in targets:
        for store, digests in ((stores.sealed, sealed), (stores.access, access)):
            for digest in digests:
                order = DestructionOrder(digest=digest, register_entry=f"{number}/{item_id}")
                try:
                    store.delete(digest, order=order)
                    deleted += 1
                except NotFound:
                    absent += 1  # deleted by an interrupted earlier run
                except RetentionViolation as exc:
                    raise RetentionViolation(
                        f"the {store.name} store refused to delete {digest} (item {item_id}):"
                        f" {exc}. Batch {number} stays 'executing' and no item is recorded as"
                        " destroyed; find out why the store still holds it before retrying"
                    ) from exc
    finished = _finish(factory, stores, settings, number, deleted=deleted, absent=absent)
    return replace(finished, checkpoint_size=_checkpoint(factory, stores, settings))


def _targets(
    session: Session, batch: AppraisalBatch
) -> list[tuple[uuid.UUID, list[str], list[str]]]:
    """(item, sealed digests, access digests) to delete: all each item keeps, except a sidecar
    whose bytes another preserved item's sidecar also is (content addressing shares them)."""
    leaving = [d.item_id for d in to_destroy(batch)]
    targets = []
    for decision in to_destroy(batch):
        sealed, access = item_objects(session, _item(session, decision))
        shared = sidecars_kept_by_others(session, sealed, leaving)
        targets.append(
            (
                decision.item_id,
                [d for d in sealed if d not in shared],
                [d for d in access if d not in shared],
            )
        )
    return targets


def _checkpoint(factory: SessionFactory, stores: Stores, settings: Settings) -> int | None:
    """Sign a checkpoint at once, so that the register's digest, in the destroyed events, is
    under a signed tree head without waiting for the next scheduled one."""
    try:
        run = run_checkpoint_job(factory, settings, stores.sealed)
    except VaultError as exc:  # the destruction is done and recorded; the daemon signs later
        log.warning("checkpoint after destruction failed", extra={"error": str(exc)})
        return None
    return run.made.tree_size if run.made is not None else None


def _item(session: Session, decision: AppraisalDecision) -> EvidenceItem:
    item = session.get(EvidenceItem, decision.item_id)
    assert item is not None
    return item


def _finish(
    factory: SessionFactory,
    stores: Stores,
    settings: Settings,
    number: str,
    *,
    deleted: int,
    absent: int,
) -> DestructionResult:
    with unit_of_work(factory) as session:
        batch = find_batch(session, number, lock=True)
        executed_at = utcnow()
        facts = _register_facts(session, settings, batch, executed_at)
        assert batch.supervisor is not None and batch.executor is not None
        signed_by = [
            user_signer(settings.keys_path, name, ca_certificate=settings.signing_ca)
            for name in (batch.executor, batch.supervisor)
        ]
        with tempfile.TemporaryDirectory(prefix="evault-register-") as work:
            register = _make_register(settings, facts, signed_by, Path(work))
            stored, digest = _store_register(stores, register, settings.chunk_size)
        for decision in to_destroy(batch):
            _tombstone(session, batch, decision, register_digest=digest)
        batch.status, batch.executed_at = BatchStatus.DESTROYED.value, executed_at
        batch.register_digest, batch.register_size = digest, stored
        return DestructionResult(
            number, len(to_destroy(batch)), deleted, absent, digest, stored, checkpoint_size=None
        )


def _make_register(
    settings: Settings, facts: RegisterFacts, signed_by: list[SignerFiles], work: Path
) -> Path:
    font = register_cjk_font(settings.document_font)
    unsigned, once, twice = work / "register.pdf", work / "executor.pdf", work / "signed.pdf"
    render_register(facts, unsigned, font=font)
    executor, supervisor = signed_by
    sign_pdf(unsigned, once, executor, field="Executor",
             reason=f"执行人 executor of destruction batch {facts.batch}",
             tsa_url=settings.tsa_url, timeout=settings.tsa_timeout_seconds)  # fmt: skip
    sign_pdf(once, twice, supervisor, field="Supervisor",
             reason=f"监销人 supervisor of destruction batch {facts.batch}",
             tsa_url=settings.tsa_url, timeout=settings.tsa_timeout_seconds)  # fmt: skip
    return twice


def _store_register(stores: Stores, register: Path, chunk_size: int) -> tuple[int, str]:
    """Kept in the sealed store for ever (a legal hold that nothing in the vault lifts)."""
    with open(register, "rb") as source:
        stored = stores.sealed.put(
            read_chunks(source, chunk_size), retention=Retention(until=None, hold=True)
        )
    with open(register, "rb") as source:
        assert hashlib.file_digest(source, "sha256").hexdigest() == stored.digest
    return stored.size, stored.digest


def _tombstone(
    session: Session, batch: AppraisalBatch, decision: AppraisalDecision, *, register_digest: str
) -> None:
    item = _item(session, decision)
    item.status = ItemStatus.DESTROYED
    session.execute(delete(FixityState).where(FixityState.item_id == item.id))
    append_event(
        session, item_id=item.id, kind=EventKind.DESTROYED, actor=f"user:{batch.executor}",
        reason=decision.reason,
        data={"batch": batch.number, "register": register_digest,
              "executor": batch.executor or "", "supervisor": batch.supervisor or "",
              "approved_by": batch.decided_by or ""},
    )  # fmt: skip


def _register_facts(
    session: Session, settings: Settings, batch: AppraisalBatch, executed_at: datetime
) -> RegisterFacts:
    rows = []
    for decision in to_destroy(batch):
        item = _item(session, decision)
        sealed, access = item_objects(session, item)
        zone = settings.display_timezone
        recorded = for_people(item.recorded_start, zone, none="—")
        rows.append(
            RegisterRow(
                item_id=str(item.id), digest=item.digest, size=item.size,
                station=item.station.name, device=item.device.serial if item.device else "—",
                officer=item.officer or "—", recorded=recorded,
                case=item.case.number if item.case else "—",
                retention=f"{item.retention_rule}: {for_people(decision.retain_until_seen, zone)}",
                decision=f"destroy: {decision.reason}",
                approval=f"{batch.decided_by} {for_people(batch.decided_at, zone)}",
                objects=f"sealed {len(sealed)}, access {len(access)}",
            )
        )  # fmt: skip
    assert batch.decided_by and batch.decided_at and batch.executor and batch.supervisor
    return RegisterFacts(
        organisation=settings.organisation, batch=batch.number, members=list(batch.members),
        appraised_at=batch.created_at, principal=batch.decided_by, approved_at=batch.decided_at,
        approval_note=batch.decision_note or "", executor=batch.executor,
        supervisor=batch.supervisor, executed_at=executed_at,
        zone=settings.display_timezone,
        rows=rows,
    )  # fmt: skip
