"""`evault audit verify --report FILE.pdf`: the audit's result as a PDF signed by the vault
(PAdES, with an RFC 3161 time stamp when a TSA is configured), for whoever must rely on it
without running the vault: `pyhanko sign validate --trust ca.pem FILE.pdf` checks it."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from custody.audit import AuditReport
from custody.proof_models import Checkpoint
from vault.documents import sign_pdf as sign_document
from vault.pki import SignerFiles

MAX_FINDINGS_LISTED = 500


@dataclass(frozen=True)
class ReportFacts:
    origin: str
    generated_at: datetime
    scope: str  # "every object" / "objects of 20 random items" / …
    witness: str | None  # the witness file's checkpoint, when --against was given
    latest: Checkpoint | None
    names: dict[uuid.UUID, str]


def render_pdf(report: AuditReport, facts: ReportFacts, target: Path) -> None:
    styles = getSampleStyleSheet()
    body, mono = styles["BodyText"], styles["Code"]
    verdict = (
        "PASSED: nothing was found altered, removed or reordered"
        if report.ok
        else (f"FAILED: {len(report.findings)} failure(s), listed below")
    )
    latest = facts.latest
    rows = [
        ["Custody log", facts.origin],
        ["Report made", f"{facts.generated_at:%Y-%m-%d %H:%M:%S} UTC"],
        ["Items checked", str(report.items_checked)],
        ["Custody entries recomputed", str(report.entries_checked)],
        ["Bytes re-hashed", f"{report.bytes_rehashed:,} ({facts.scope})"],
        ["Witness checkpoint", facts.witness or "none given"],
    ]
    if latest is not None:
        root = base64.b64encode(bytes(latest.root_hash)).decode()
        signed = f"{latest.created_at:%Y-%m-%d %H:%M} UTC"
        rows += [
            ["Latest checkpoint", f"no. {latest.id}: {latest.tree_size} entries, {signed}"],
            ["Root hash", root],
            ["Signing key", latest.key_id],
            ["RFC 3161 time stamp", "yes" if latest.timestamp_token else "no TSA configured"],
        ]
    table = Table(rows, colWidths=[50 * mm, 120 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
            ]
        )
    )
    story = [
        Paragraph("evidence-vault audit report", styles["Title"]),
        Paragraph(f"<b>{escape(verdict)}</b>", body),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 4 * mm),
        Paragraph(
            "What was checked: every custody entry was re-canonicalised and re-hashed from the"
            " raw database rows; every per-item chain and the RFC 9162 Merkle tree over the"
            " whole log were recomputed; every checkpoint's Ed25519 signature, root, time"
            " stamp and sealed copy, the consistency between checkpoints and every stored tree"
            " node were checked; the stored objects in scope were read back and re-hashed.",
            body,
        ),
    ]
    if report.findings:
        story += [Spacer(1, 4 * mm), Paragraph("Failures", styles["Heading2"])]
        for finding in report.findings[:MAX_FINDINGS_LISTED]:
            who = (
                f"item {finding.item_id} ({facts.names.get(finding.item_id, 'unknown')})"
                if finding.item_id
                else "custody log"
            )
            where = f" entry seq {finding.seq}" if finding.seq is not None else ""
            story.append(Paragraph(escape(f"{who}{where}: {finding.message}"), mono))
        if len(report.findings) > MAX_FINDINGS_LISTED:
            more = len(report.findings) - MAX_FINDINGS_LISTED
            story.append(Paragraph(f"… and {more} more (run `evault audit verify`)", body))
    SimpleDocTemplate(str(target), pagesize=A4, title="evidence-vault audit report").build(story)


def sign_pdf(
    unsigned: Path, target: Path, signer: SignerFiles, *, tsa_url: str | None, timeout: float
) -> None:
    """PAdES signature by the vault's audit-report key; a document time stamp with a TSA."""
    sign_document(
        unsigned, target, signer, field="AuditReport", reason="evidence-vault audit result",
        tsa_url=tsa_url, timeout=timeout,
    )  # fmt: skip
