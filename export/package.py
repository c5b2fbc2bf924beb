"""One export, start to finish: authorise, copy the payload through delivery, sign a
checkpoint over the exported events, write the custody proofs and the signed report, bag it
(BagIt, SHA-256 and SHA-512, with the Library of Congress `bagit` library) and, when asked,
ZIP it. It is built beside the target under a hidden name and moved into place only when
complete, so a failed export leaves nothing that looks like a package."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import bagit
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import Settings
from custody.access.models import AccessRequest
from custody.log.append import append_event
from custody.log.checkpoints import latest_checkpoint, run_checkpoint_job
from custody.log.keys import known_keys
from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from custody.log.proof_models import Checkpoint
from custody.log.signed_note import verifier_key
from export.evidence import ExportFacts, proof_bundles, write_descriptions, write_proofs
from export.manifest import record_packaged, sha256_file, write_manifest
from export.payload import (
    ExportAborted,
    PackageFile,
    PayloadRun,
    add_clip,
    add_original,
    add_rendition,
    add_sidecars,
)
from export.spec import Authorized, ExportSpec, authorize_export
from vault.db import SessionFactory, unit_of_work, utcnow
from vault.errors import InputRejected, NotFound
from vault.models import EvidenceItem, Rendition, User
from vault.moments import local_day
from vault.pki import ensure_signer
from vault.stores.factory import Stores

if TYPE_CHECKING:
    from export.report import ReportInput

VERIFIER = Path(__file__).with_name("verify.py")
ZIP_CHUNK = 1024 * 1024


class ProgressSink(Protocol):
    def stage(self, description: str, total: int | None) -> None: ...

    def advance(self, amount: int) -> None: ...


class _Silent:
    def stage(self, description: str, total: int | None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    number: str
    path: Path  # the bag directory, or the ZIP
    items: int
    files: int
    payload_bytes: int
    checkpoint_size: int
    report_signed_with_time_stamp: bool


def new_number(zone: str) -> str:
    """An export's number, dated by the day in ``zone`` (the display time zone)."""
    return f"EXP-{local_day(utcnow(), zone)}-{secrets.token_hex(3).upper()}"


def _payload(run: PayloadRun, spec: ExportSpec) -> list[PackageFile]:
    files: list[PackageFile] = []
    for item in run.auth.items:
        files.append(add_original(run, item))
        files += add_sidecars(run, item)
        files += add_rendition(run, item, watermarked=spec.watermark)
        for clipped, clip in run.auth.clips:
            if clipped.id == item.id:
                files += add_clip(run, item, clip)
    return files


def _reloaded(session: Session, auth: Authorized) -> Authorized:
    """The same authorisation with rows of ``session`` (the report reads relationships)."""
    request = session.get_one(AccessRequest, auth.request.id)
    items = [session.get_one(EvidenceItem, item.id) for item in auth.items]
    return Authorized(request, items, auth.clips, auth.recipient)


def _report(settings: Settings, staging: Path, workdir: Path, source: ReportInput) -> None:
    # reportlab and pyHanko load only when a document is made (CLI start-up time).
    from export.report import render_report  # noqa: PLC0415
    from vault.documents.fonts import register_cjk_font  # noqa: PLC0415
    from vault.documents.signing import sign_pdf  # noqa: PLC0415

    signer = ensure_signer(settings.keys_path, "export", organisation=settings.organisation)
    unsigned = workdir / f"report-{uuid.uuid4()}.pdf"
    try:
        render_report(source, unsigned, font=register_cjk_font(settings.document_font))
        try:
            sign_pdf(
                unsigned, staging / "report.pdf", signer, field="CustodyCertification",
                reason="evidence-vault chain-of-custody report and certification",
                tsa_url=settings.tsa_url, timeout=settings.tsa_timeout_seconds,
            )  # fmt: skip
        except Exception as exc:  # pyHanko raises its own and aiohttp's errors alike
            if not settings.tsa_url:
                raise
            raise ExportAborted(
                f"the report could not be time-stamped by {settings.tsa_url} ({exc});"
                " the export stopped and wrote nothing: retry when the TSA answers"
            ) from None
    finally:
        unsigned.unlink(missing_ok=True)


def _zip(bag: Path, target: Path, progress: ProgressSink, *, folder: str) -> None:
    """ZIP64, stored (recordings are compressed already), streamed file by file."""
    files = sorted(p for p in bag.rglob("*") if p.is_file())
    progress.stage("zipping", sum(p.stat().st_size for p in files))
    with zipfile.ZipFile(target, "x", compression=zipfile.ZIP_STORED, allowZip64=True) as out:
        for path in files:
            name = f"{folder}/{path.relative_to(bag).as_posix()}"
            with open(path, "rb") as source, out.open(name, "w", force_zip64=True) as sink:
                while chunk := source.read(ZIP_CHUNK):
                    sink.write(chunk)
                    progress.advance(len(chunk))


@dataclass(frozen=True)
class ExportJob:
    factory: SessionFactory
    stores: Stores
    settings: Settings


def export(
    job: ExportJob,
    spec: ExportSpec,
    *,
    user_id: uuid.UUID,
    target: Path,
    as_zip: bool,
    progress: ProgressSink | None = None,
    number: str | None = None,
) -> ExportResult:
    """Write the package at ``target`` (a new directory, or a new .zip file whose one folder
    is named like the file). ``number`` is the export's, made here when not given."""
    sink = progress or _Silent()
    if target.exists():
        raise InputRejected(f"{target} exists; an export never overwrites anything")
    if not target.parent.is_dir():
        raise InputRejected(f"{target.parent} is not a directory")
    number = number or new_number(job.settings.display_timezone)
    with unit_of_work(job.factory, read_only=True) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        auth = authorize_export(session, spec, user)
        sizes = session.execute(
            select(func.coalesce(func.sum(Rendition.size), 0)).where(
                Rendition.item_id.in_([i.id for i in auth.items])
            )
        ).scalar_one()
    staging = target.parent / f".{target.name}.{number}.partial"
    workdir = job.settings.data_dir / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    staging.mkdir()
    try:
        result = _build(
            job,
            spec,
            auth,
            user,
            number=number,
            staging=staging,
            workdir=workdir,
            sink=sink,
            rendition_bytes=int(sizes or 0),
        )
        if as_zip:
            partial = target.with_name(f".{target.name}.{number}.partial.zip")
            try:
                _zip(staging, partial, sink, folder=target.stem)
                os.link(partial, target)  # fails, rather than replaces, if target appeared
            finally:
                partial.unlink(missing_ok=True)
        else:
            staging.rename(target)
    except BaseException as exc:
        try:
            _record_abandoned(job.factory, auth, number, user_id, exc)
        except Exception:  # the export's own error is the one to report
            log.exception("could not record the abandoned export", extra={"export": number})
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(number, target, *result)


def _record_abandoned(
    factory: SessionFactory, auth: Authorized, number: str, user_id: uuid.UUID, exc: BaseException
) -> None:
    """Answer every exported entry of this export with export_abandoned: the package those
    entries describe was removed and never left the vault."""
    ids = [item.id for item in auth.items]
    with unit_of_work(factory) as session:
        user = session.get(User, user_id)
        actor = f"user:{user.username}" if user is not None else "system:export"
        exported = session.execute(
            select(CustodyEvent.item_id, CustodyEvent.data).where(
                CustodyEvent.item_id.in_(ids), CustodyEvent.kind == EventKind.EXPORTED
            )
        ).all()
        files: dict[uuid.UUID, int] = {}
        for item_id, data in exported:
            if data.get("export") == number:
                files[item_id] = files.get(item_id, 0) + 1
        reason = str(exc) or type(exc).__name__
        for item_id in sorted(files, key=str):
            append_event(
                session, item_id=item_id, kind=EventKind.EXPORT_ABANDONED, actor=actor,
                reason=reason[:1000],
                data={"export": number, "files_recorded": files[item_id], "package": "removed"},
            )  # fmt: skip


def _bag_info(settings: Settings, auth: Authorized, number: str, actor: str) -> dict[str, str]:
    """The bag-info.txt labels that say whose package this is (all in the signed manifest)."""
    return {
        "Source-Organization": settings.organisation,
        "External-Identifier": number,
        "Internal-Sender-Identifier": auth.request.number,
        "Recipient": auth.recipient,
        "Contact-Name": actor,
        "Bagging-Date": f"{utcnow():%Y-%m-%d}",
        "Bag-Software-Agent": "evidence-vault export (bagit.py, BagIt 1.0)",
        "External-Description": (
            f"Court submission export {number}: {len(auth.items)} recording(s) with their"
            f" chain of custody, for {auth.recipient}; verify with data/verify.py"
        ),
    }


def _signed_checkpoint(job: ExportJob, *, after: int, key_id: str | None = None) -> Checkpoint:
    """Sign a checkpoint over the log as it is now (its time stamp too, when a TSA is set),
    one that covers seq ``after``; with ``key_id``, by that key."""
    settings = job.settings
    run = run_checkpoint_job(job.factory, settings, job.stores.sealed)
    with unit_of_work(job.factory, read_only=True) as session:
        checkpoint = latest_checkpoint(session)
        if checkpoint is None or checkpoint.tree_size < after:
            raise ExportAborted("no checkpoint could be signed: run `evault checkpoint` and retry")
        session.expunge(checkpoint)
    if settings.tsa_url and not checkpoint.timestamp_token:
        raise ExportAborted(
            f"the checkpoint could not be time-stamped by {settings.tsa_url}"
            f" ({run.tsa_error or 'no token'}); the export stopped: retry when the TSA answers"
        )
    if key_id is not None and checkpoint.key_id != key_id:
        raise ExportAborted("the log's signing key changed during the export: run it again")
    return checkpoint


def _last_seq(factory: SessionFactory, items: list[uuid.UUID]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return int(
            session.execute(
                select(func.max(CustodyEvent.seq)).where(CustodyEvent.item_id.in_(items))
            ).scalar_one()
            or 0
        )


def _build(
    job: ExportJob,
    spec: ExportSpec,
    auth: Authorized,
    user: User,
    *,
    number: str,
    staging: Path,
    workdir: Path,
    sink: ProgressSink,
    rendition_bytes: int,
) -> tuple[int, int, int, int, bool]:
    """Payload, manifest and report first; then the export_packaged entries that record their
    digests, and the checkpoint over those entries that the package's proofs lead to."""
    from export.report import ReportInput  # noqa: PLC0415

    settings = job.settings
    actor = f"user:{user.username}"
    reason = spec.reason.strip() or auth.request.reason
    run = PayloadRun(job.factory, job.stores, auth, user, number, reason, staging,
                     workdir, settings.chunk_size, sink.advance)  # fmt: skip
    sink.stage("copying and checking", sum(i.size for i in auth.items) + rendition_bytes)
    files = _payload(run, spec)
    sink.stage("signing the custody proofs", None)
    ids = [item.id for item in auth.items]
    before = _signed_checkpoint(job, after=_last_seq(job.factory, ids))
    facts = ExportFacts(number, utcnow(), settings.organisation, actor, reason,
                        settings.display_timezone)  # fmt: skip
    bag_info = _bag_info(settings, auth, number, actor)
    shutil.copyfile(VERIFIER, run.root / "verify.py")
    with unit_of_work(job.factory, read_only=True) as session:
        current = _reloaded(session, auth)
        files += write_descriptions(run.root, current)
        stated = proof_bundles(session, current, before)
        statement = write_manifest(
            run.root, auth=current, files=files, facts=facts, bag_info=bag_info,
            time_stamped=bool(settings.tsa_url), before=before,
            log_key=verifier_key(*known_keys(session)[before.key_id]),
        )  # fmt: skip
        _report(settings, run.root, workdir, ReportInput(current, facts, files, stated, statement))
    with unit_of_work(job.factory) as session:
        record_packaged(
            session, items=ids, statement=statement, number=number, actor=actor, reason=reason,
            report_sha256=sha256_file(run.root / "report.pdf"),
        )  # fmt: skip
    checkpoint = _signed_checkpoint(job, after=_last_seq(job.factory, ids), key_id=before.key_id)
    with unit_of_work(job.factory, read_only=True) as session:
        proven = proof_bundles(session, _reloaded(session, auth), checkpoint)
        write_proofs(session, run.root, proven, before=before, tsa=settings.tsa_trust_roots)
    sink.stage("bagging (SHA-256 and SHA-512 manifests)", None)
    bag = bagit.make_bag(str(staging), bag_info=bag_info, checksums=["sha256", "sha512"])
    _declare_bagit_1_0(bag)
    payload = sum(p.stat().st_size for p in (staging / "data").rglob("*") if p.is_file())
    return (len(auth.items), len(files), payload, checkpoint.tree_size,
            bool(settings.tsa_url))  # fmt: skip


def _declare_bagit_1_0(bag: bagit.Bag) -> None:
    """RFC 8493 is BagIt 1.0; the bagit library writes 0.97. The two differ in nothing this
    package uses (1.0 drops tag-file line folding and reserves manifest names), so the
    declaration is rewritten and the tag manifests re-made over it."""
    Path(bag.path, "bagit.txt").write_text(
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8"
    )
    bag.save(manifests=False)
