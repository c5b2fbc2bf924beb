"""`evault audit verify --report FILE.pdf`: the audit's result as a bilingual PDF (Chinese and
English, with an embedded CJK font) signed by the vault
(PAdES, with an RFC 3161 time stamp when a TSA is configured), for whoever must rely on it
without running the vault: `pyhanko sign validate --trust ca.pem FILE.pdf` checks it."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from custody.log.audit import AuditReport
from custody.log.proof_models import Checkpoint
from vault.documents import layout
from vault.documents.signing import sign_pdf
from vault.moments import for_people
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


def render_pdf(
    report: AuditReport, facts: ReportFacts, target: Path, *, font: str, zone: str
) -> None:
    """The report in Chinese and English, in ``font`` (embedded: see vault.documents), its
    times in ``zone`` (the display time zone) as everywhere else."""
    s = layout.styles(font)
    if not report.ok:
        verdict = f"未通过 FAILED: {len(report.findings)} failure(s), listed below"
    elif report.unproven:
        verdict = (
            "通过，但未经外部证明 PASSED, NOT PROVEN TO AN OUTSIDER: nothing was found altered,"  # noqa: RUF001
            " removed or reordered, but see the limits below"
        )
    else:
        verdict = "通过 PASSED: nothing was found altered, removed or reordered"
    latest = facts.latest
    rows = [
        ["监管日志 Custody log", facts.origin],
        ["报告时间 Report made", for_people(facts.generated_at, zone)],
        ["检查件数 Items checked", str(report.items_checked)],
        ["重算记录 Custody entries recomputed", str(report.entries_checked)],
        ["重算字节 Bytes re-hashed", f"{report.bytes_rehashed:,} ({facts.scope})"],
        ["核验检查点 Checkpoints verified", str(report.checkpoints_checked)],
        ["签名覆盖 Entries under a signed checkpoint", str(report.entries_signed)],
        ["见证检查点 Witness checkpoint", facts.witness or "none given"],
    ]
    if latest is not None:
        root = base64.b64encode(bytes(latest.root_hash)).decode()
        signed = for_people(latest.created_at, zone)
        rows += [
            [
                "最新检查点 Latest checkpoint",
                f"no. {latest.id}: {latest.tree_size} entries, {signed}",
            ],
            ["根哈希 Root hash", root],
            ["签名密钥 Signing key", latest.key_id],
            [
                "可信时间戳 RFC 3161 time stamp",
                "yes" if latest.timestamp_token else "no TSA configured",
            ],
        ]
    story: list[Any] = [
        Paragraph("监管链审计报告 / evidence-vault audit report", s.title),
        Paragraph(f"<b>{escape(verdict)}</b>", s.body),
        Spacer(1, 4 * mm),
        layout.grid(rows, [60, 110], s.mono),
        Spacer(1, 4 * mm),
        Paragraph(
            "检查内容：从数据库原始记录重新计算每条监管记录的哈希、每件证据的哈希链和全部日志的"  # noqa: RUF001
            "默克尔树；核验每个检查点的签名、根哈希、时间戳和封存副本；重新读取并计算所列对象的哈希。"  # noqa: RUF001
            " What was checked: every custody entry was re-canonicalised and re-hashed from the"
            " raw database rows; every per-item chain and the RFC 9162 Merkle tree over the"
            " whole log were recomputed; every checkpoint's Ed25519 signature, root, time"
            " stamp and sealed copy, the consistency between checkpoints and every stored tree"
            " node were checked; the stored objects in scope were read back and re-hashed.",
            s.body,
        ),
    ]
    if report.unproven:
        story += [Spacer(1, 4 * mm), Paragraph("未能证明的内容 Not proven", s.heading)]
        story += [layout.text(limit, s.body) for limit in report.unproven]
    if report.findings:
        story += [Spacer(1, 4 * mm), Paragraph("发现的问题 Failures", s.heading)]
        for finding in report.findings[:MAX_FINDINGS_LISTED]:
            who = (
                f"item {finding.item_id} ({facts.names.get(finding.item_id, 'unknown')})"
                if finding.item_id
                else "custody log"
            )
            where = f" entry seq {finding.seq}" if finding.seq is not None else ""
            story.append(layout.text(f"{who}{where}: {finding.message}", s.mono))
        if len(report.findings) > MAX_FINDINGS_LISTED:
            more = len(report.findings) - MAX_FINDINGS_LISTED
            story.append(Paragraph(f"… and {more} more (run `evault audit verify`)", s.body))
    layout.build(target, story, title="evidence-vault audit report")


def sign_audit_report(
    unsigned: Path, target: Path, signer: SignerFiles, *, tsa_url: str | None, timeout: float
) -> None:
    """PAdES signature by the vault's audit-report key; a document time stamp with a TSA."""
    sign_pdf(
        unsigned, target, signer, field="AuditReport", reason="evidence-vault audit result",
        tsa_url=tsa_url, timeout=timeout,
    )  # fmt: skip
