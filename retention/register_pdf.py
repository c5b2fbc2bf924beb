"""The destruction register (销毁清册) as a bilingual PDF: one row per destroyed item, the
appraisal and the approval, then the executor's and the supervisor's signatures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

REGISTER_TITLE = "销毁清册 / Destruction register"


@dataclass(frozen=True)
class RegisterRow:
    item_id: str
    digest: str
    size: int
    station: str
    device: str
    officer: str
    recorded: str
    case: str
    retention: str  # rule and end
    decision: str  # the appraisal's reason
    approval: str  # who approved and when
    objects: str  # what was deleted, per store


@dataclass(frozen=True)
class RegisterFacts:
    organisation: str
    batch: str
    members: list[str]
    appraised_at: datetime
    principal: str
    approved_at: datetime
    approval_note: str
    executor: str
    supervisor: str
    executed_at: datetime
    timezone_note: str
    rows: list[RegisterRow]


def _when(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC"


def render_register(facts: RegisterFacts, target: Path, *, font: str) -> None:

    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    small = ParagraphStyle("small", fontName=font, fontSize=6.5, leading=8)
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)

    def cell(text: str, style: ParagraphStyle = small) -> Paragraph:
        return Paragraph(escape(text), style)

    header = [
        ["单位 Organisation", facts.organisation],
        ["批次 Batch", facts.batch],
        ["鉴定小组 Appraisal group", ", ".join(facts.members) + f" ({_when(facts.appraised_at)})"],
        ["批准人 Approved by (principal)",
         f"{facts.principal}, {_when(facts.approved_at)}: {facts.approval_note}"],
        ["执行人 Executor", facts.executor],
        ["监销人 Supervisor", facts.supervisor],
        ["销毁时间 Destroyed at", _when(facts.executed_at)],
        ["件数 Items", str(len(facts.rows))],
    ]  # fmt: skip
    story: list[object] = [
        Paragraph(REGISTER_TITLE, title),
        Table([[cell(a, body), cell(b, body)] for a, b in header], colWidths=[60 * mm, 200 * mm]),
        Spacer(1, 4 * mm),
    ]
    columns = [
        "编号 Item", "SHA-256", "大小 Bytes", "采集站 Station", "设备 Device", "民警 Officer",
        "录制时间 Recorded", "案件 Case", "保管期限 Retention", "鉴定意见 Appraisal",
        "批准 Approval", "删除对象 Deleted",
    ]  # fmt: skip
    rows = [[cell(c) for c in columns]]
    for r in facts.rows:
        rows.append(
            [cell(v) for v in (r.item_id, r.digest, f"{r.size:,}", r.station, r.device,
                               r.officer, r.recorded, r.case, r.retention, r.decision,
                               r.approval, r.objects)]
        )  # fmt: skip
    widths = [22, 30, 15, 18, 18, 16, 22, 18, 28, 30, 28, 30]
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 6 * mm),
        Paragraph(
            escape(
                "本清册所列电子数据已按批准的鉴定意见销毁；其元数据、摘要值与完整监管链作为记录永久保存。"  # noqa: RUF001
                " The recordings listed were destroyed as the approved appraisal decided; their"
                " metadata, digests and full custody chains are kept permanently as tombstones."
                " This register is signed first by the executor, then by the supervisor (PAdES,"
                " each with its certificate), and kept permanently under legal hold."
                f" Times are UTC ({facts.timezone_note})."
            ),
            body,
        ),
    ]
    SimpleDocTemplate(
        str(target), pagesize=landscape(A4), title=REGISTER_TITLE, author=facts.organisation,
        leftMargin=10 * mm, rightMargin=10 * mm, topMargin=10 * mm, bottomMargin=10 * mm,
    ).build(story)  # type: ignore[arg-type]  # fmt: skip
