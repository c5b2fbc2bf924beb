"""An audit of the whole vault run in the background (started from the console): the same
`audit` as `evault audit verify`, its progress written as it goes (entries, recordings and
bytes checked), and its end a PDF report signed by the vault, kept with the run."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from config.settings import Settings
from custody.log.append import LOG_HEAD_ID
from custody.log.audit import AuditReport, audit
from custody.log.audit_models import AuditRun
from custody.log.checkpoints import WitnessFile, latest_checkpoint
from custody.log.models import LogHead
from custody.log.timestamps import load_trust_roots
from vault.db import SessionFactory, unit_of_work, utcnow
from vault.errors import Conflict, NotFound
from vault.models import EvidenceItem
from vault.pki import SignerFiles, ensure_signer
from vault.stores.factory import Stores

if TYPE_CHECKING:
    from custody.log.audit_report import ReportFacts

log = logging.getLogger(__name__)
# A running audit writes its progress at least this often; one silent for longer was
# interrupted (its server stopped) and is shown so.
WRITE_EVERY_S = 0.5
STALE = timedelta(minutes=2)


def report_facts(
    session: Session, *, sample: int | None, witness: WitnessFile | None
) -> ReportFacts:
    """What the report says about the run besides its findings."""
    from custody.log.audit_report import ReportFacts  # noqa: PLC0415 - loads reportlab

    return ReportFacts(
        origin=(session.get(LogHead, LOG_HEAD_ID) or LogHead()).origin or "not signed yet",
        generated_at=utcnow(),
        scope="objects of every item" if sample is None else f"objects of {sample} random items",
        witness=witness.note.split("\n")[1] + " entries" if witness else None,
        latest=latest_checkpoint(session),
        names={i.id: i.original_name for i in session.execute(select(EvidenceItem)).scalars()},
    )


def write_signed_report(
    settings: Settings, report: AuditReport, facts: ReportFacts, pdf: Path
) -> SignerFiles:
    """The report as a PDF signed by the vault's audit-report key (time-stamped with a TSA)."""
    # reportlab and pyHanko load only when a report is asked for (start-up time and memory).
    from custody.log.audit_report import render_pdf, sign_audit_report  # noqa: PLC0415
    from vault.documents.fonts import register_cjk_font  # noqa: PLC0415

    signer = ensure_signer(settings.keys_path, "audit-report", organisation=settings.organisation)
    unsigned = pdf.with_name(f".{pdf.name}.unsigned")
    try:
        render_pdf(
            report,
            facts,
            unsigned,
            font=register_cjk_font(settings.document_font),
            zone=settings.display_timezone,
        )
        sign_audit_report(unsigned, pdf, signer, tsa_url=settings.tsa_url,
                          timeout=settings.tsa_timeout_seconds)  # fmt: skip
    finally:
        unsigned.unlink(missing_ok=True)
    return signer


def shown_status(run: AuditRun, now: datetime) -> str:
    if run.status == "running" and now - run.updated_at > STALE:
        return "interrupted"
    return run.status


def recent_runs(session: Session, limit: int = 20) -> list[AuditRun]:
    return list(
        session.execute(select(AuditRun).order_by(AuditRun.id.desc()).limit(limit)).scalars()
    )


def find_run(session: Session, run_id: int) -> AuditRun:
    found = session.get(AuditRun, run_id)
    if found is None:
        raise NotFound(f"no audit run {run_id}")
    return found


def start(session: Session, *, started_by: str) -> AuditRun:
    """A new run's row (the caller starts ``execute`` once it is committed); one at a time."""
    now = utcnow()
    for run in session.execute(select(AuditRun).where(AuditRun.status == "running")).scalars():
        if shown_status(run, now) == "running":
            raise Conflict(f"audit {run.id}, started by {run.started_by}, is still running")
    head = session.get(LogHead, LOG_HEAD_ID)
    items, size = session.execute(
        select(func.count(), func.coalesce(func.sum(EvidenceItem.size), 0))
    ).one()
    run = AuditRun(started_by=started_by, started_at=now, status="running", updated_at=now,
                   entries=head.last_seq if head else 0, items_total=items,
                   bytes_total=2 * size, items_done=0, bytes_done=0, findings=0,
                   detail="")  # fmt: skip
    session.add(run)
    session.flush()
    return run


def execute(factory: SessionFactory, stores: Stores, settings: Settings, run_id: int) -> None:
    """Run the audit, keeping the run's progress current; never raises (the run records why
    it could not finish)."""
    done = {"items": 0, "bytes": 0}
    last_write = time.monotonic()

    def progress(_item: EvidenceItem, size: int) -> None:
        nonlocal last_write
        done["items"] += 1
        done["bytes"] += size
        if time.monotonic() - last_write >= WRITE_EVERY_S:
            last_write = time.monotonic()
            _write(factory, run_id, items_done=done["items"], bytes_done=done["bytes"])

    try:
        with unit_of_work(factory, read_only=True, snapshot=True) as session:
            report = audit(session, stores, tsa_roots=load_trust_roots(settings.tsa_trust_roots),
                           chunk_size=settings.chunk_size, progress=progress)  # fmt: skip
            facts = report_facts(session, sample=None, witness=None)
        with tempfile.TemporaryDirectory() as folder:
            pdf = Path(folder) / "audit.pdf"
            write_signed_report(settings, report, facts, pdf)
            signed = pdf.read_bytes()  # a report of at most a few hundred findings: small
    except Exception as exc:  # the run must say it stopped, whatever stopped it
        log.exception("audit run %s could not finish", run_id)
        _write(factory, run_id, status="error", detail=f"{type(exc).__name__}: {exc}"[:2000],
               finished_at=utcnow())  # fmt: skip
        return
    _write(
        factory, run_id, status="passed" if report.ok else "failed",
        items_done=done["items"], bytes_done=done["bytes"], findings=len(report.findings),
        detail="; ".join(f.message for f in report.findings[:20])[:4000],
        report_pdf=signed, report_digest=hashlib.sha256(signed).hexdigest(),
        finished_at=utcnow(),
    )  # fmt: skip


def _write(factory: SessionFactory, run_id: int, **values: object) -> None:
    with unit_of_work(factory) as session:
        session.execute(
            update(AuditRun).where(AuditRun.id == run_id).values(updated_at=utcnow(), **values)
        )
