"""data/report.pdf: the chain-of-custody report of an export, in Chinese and English.

For each item its written description (recorder, time, place, matter, counterparty), its
files and digests and the timeline of every custody event; then a certification page in the
form of a Federal Rule of Evidence 902(14) certification of records by digital
identification. Signed by the vault's export key (PAdES, time-stamped when a TSA is set).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, Spacer

from export.evidence import CustodyWritten, ExportFacts, describe
from export.manifest import Statement
from export.payload import PackageFile
from export.spec import Authorized
from vault.documents import layout
from vault.documents.layout import Styles
from vault.moments import for_people

DESCRIPTION_ROWS = (
    ("记录人 Recorder", "recorder"),
    ("开始时间 Recorded from", "recorded_start"),
    ("结束时间 Recorded to", "recorded_end"),
    ("地点 Place", "place"),
    ("事由 Matter", "matter"),
    ("案件 Case", "case"),
    ("当事人 Counterparty", "counterparty"),
    ("执法记录仪 Device", "device"),
    ("采集站 Docking station", "station"),
    ("原文件名 Original name", "original_name"),
    ("入库时间 Ingested", "ingested_at"),
    ("SHA-256", "sha256"),
    ("大小 Size (bytes)", "size"),
)
CERTIFICATION = (
    "本人代表{org}兹证明：（一）下列每个文件均由本单位证据库的封存保存副本复制，或由其按所述"  # noqa: RUF001
    "方法制作；（二）每个原始文件的SHA-256哈希值在复制时重新计算，与该记录入库时记录的哈希值"  # noqa: RUF001
    "一致；（三）每件证据的全部监管记录均包含在本包中，并由签名检查点逐条证明；（四）上述复制"  # noqa: RUF001
    "与核验是本单位在常规业务活动中按既定程序进行的。"
)
CERTIFICATION_EN = (
    "Certification of records by digital identification (in the form of Federal Rule of"
    " Evidence 902(14)). On behalf of {org} I certify that: (1) each file listed below was"
    " copied from the sealed preservation copy held by this organisation's evidence vault, or"
    " was made from it by the method its provenance record states; (2) the SHA-256 hash value"
    " of each original was computed while it was copied and is identical to the hash value"
    " recorded when the recording was ingested; (3) the complete custody record of each item"
    " is included in this package and every entry is proven by the signed checkpoint; (4) the"
    " copying and verification are a regular practice of this organisation, done by the"
    " procedure described. Anyone can repeat the verification with data/verify.py."
)


@dataclass(frozen=True)
class ReportInput:
    auth: Authorized
    facts: ExportFacts
    files: list[PackageFile]
    custody: CustodyWritten  # proofs into the checkpoint this report states
    statement: Statement


def _detail(data: dict[str, Any]) -> str:
    shown = {k: v for k, v in data.items() if k not in ("chain_before",) and v not in (None, "")}
    return json.dumps(shown, ensure_ascii=False, sort_keys=True)[:400]


def _item_section(item_id: str, source: ReportInput, s: Styles) -> list[Any]:
    item = next(i for i in source.auth.items if str(i.id) == item_id)
    described = describe(item)
    rows = [[label, str(described.get(key) or "—")] for label, key in DESCRIPTION_ROWS]
    files = [["文件 File", "类型 Role", "SHA-256"]] + [
        [f"data/{f.path}", f.role, f.digest] for f in source.files if str(f.item_id) == item_id
    ]
    timeline: list[list[Any]] = [
        ["序号 Seq", "时间 Time", "事件 Event", "操作人 Actor", "事由与内容 Reason, details"]
    ]
    for entry in source.custody.bundles[item_id].entries:
        if entry.proof is None:  # after the package's checkpoint: not in the package
            continue
        event = entry.event
        timeline.append(
            [
                str(event.seq),
                for_people(event.at, source.facts.zone),
                event.kind,
                event.actor,
                f"{event.reason or ''} {_detail(dict(event.data))}",
            ]
        )
    return [
        Paragraph(f"证据 Item {item_id}", s.heading),
        layout.grid(rows, [42, 128], s.small),
        Spacer(1, 3 * mm),
        layout.grid(files, [80, 20, 70], s.small, header=True),
        Spacer(1, 3 * mm),
        Paragraph("监管记录 Chain of custody (every event, in order)", s.body),
        layout.grid(timeline, [12, 28, 26, 30, 74], s.small, header=True),
    ]


def render_report(source: ReportInput, target: Path, *, font: str) -> None:
    s = layout.styles(font)
    facts, auth, checkpoint = source.facts, source.auth, source.custody.checkpoint
    root = base64.b64encode(bytes(checkpoint.root_hash)).decode()
    summary = [
        ["导出编号 Export", facts.number],
        ["单位 Organisation", facts.organisation],
        ["接收方 Recipient", auth.recipient],
        ["申请单 Request", f"{auth.request.number} ({auth.request.reason})"],
        ["导出人 Exported by", facts.actor],
        ["导出时间 Made", for_people(facts.made_at, facts.zone)],
        ["证据件数 Items", str(len(auth.items))],
        [
            "检查点 Checkpoint",
            f"{checkpoint.tree_size} entries, {for_people(checkpoint.created_at, facts.zone)}",
        ],
        ["根哈希 Root hash", root],
        ["日志公钥 Log verifier key", source.statement.log_key],
        ["导出清单 Manifest SHA-256", source.statement.manifest_sha256],
        ["verify.py SHA-256", source.statement.verify_sha256],
        ["可信时间戳 RFC 3161", "yes" if checkpoint.timestamp_token else "no TSA configured"],
    ]
    story: list[Any] = [
        Paragraph("监管链报告 / Chain-of-custody report", s.title),
        layout.grid(summary, [42, 128], s.small),
        Spacer(1, 3 * mm),
        Paragraph(
            "核验方法：在任何装有Python的电脑上运行 python3 data/verify.py --key 日志公钥"  # noqa: RUF001
            "（无需联网、无需安装）。"  # noqa: RUF001
            " How to verify (offline, Python's standard library only):"
            " (1) compare the log verifier key above with the key the vault publishes, then run"
            " <i>python3 data/verify.py --key KEY</i>: it re-hashes every file, checks every"
            " custody entry's chain and inclusion proof and the checkpoint's signature, and"
            " proves the package's checkpoint extends the checkpoint above (size and root);"
            " a checkpoint you hold from the vault is checked with <i>--witness FILE</i>;"
            " (2) <i>sha256sum data/custody/export.json</i> gives the manifest SHA-256 above;"
            " verify.py also checks it against each item's export_packaged entry, which"
            " records this report's SHA-256 too (the report is made before that entry);"
            " (3) <i>sha256sum data/verify.py</i> gives the verify.py SHA-256 above;"
            " (4) check this report's signature with <i>pyhanko sign validate</i>.",
            s.body,
        ),
    ]
    for item in auth.items:
        story += _item_section(str(item.id), source, s)
    originals = [f for f in source.files if f.role in ("original", "rendition", "clip")]
    story += [
        PageBreak(),
        Paragraph("认证 / Certification", s.title),
        Paragraph(escape(CERTIFICATION.format(org=facts.organisation)), s.body),
        Spacer(1, 2 * mm),
        Paragraph(escape(CERTIFICATION_EN.format(org=facts.organisation)), s.body),
        Spacer(1, 3 * mm),
        layout.grid(
            [["文件 File", "SHA-256", "字节 Bytes"]]
            + [[f"data/{f.path}", f.digest, f"{f.size:,}"] for f in originals],
            [70, 80, 20],
            s.small,
            header=True,
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"签署 Signed for {escape(facts.organisation)} by the evidence vault's export key"
            " (digital signature below, PAdES), at the request of"
            f" {escape(facts.actor)}, {for_people(facts.made_at, facts.zone)}.",
            s.body,
        ),
    ]
    layout.build(target, story, title=f"Chain-of-custody report {facts.number}")
