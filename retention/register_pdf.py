"""The destruction register (销毁清册) as a bilingual PDF: one row per destroyed item, the
appraisal and the approval, then the executor's and the supervisor's signatures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from vault.documents import layout
from vault.moments import for_people

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
    zone: str  # display_timezone: every instant is shown in it, with its offset
    rows: list[RegisterRow]


def render_register(facts: RegisterFacts, target: Path, *, font: str) -> None:
    s = layout.styles(font)

    def _when(value: datetime) -> str:
        return for_people(value, facts.zone)

    header = [
        ("单位 Organisation", facts.organisation),
        ("批次 Batch", facts.batch),
        ("鉴定小组 Appraisal group", ", ".join(facts.members) + f" ({_when(facts.appraised_at)})"),
        ("批准人 Approved by (principal)",
         f"{facts.principal}, {_when(facts.approved_at)}: {facts.approval_note}"),
        ("执行人 Executor", facts.executor),
        ("监销人 Supervisor", facts.supervisor),
        ("销毁时间 Destroyed at", _when(facts.executed_at)),
        ("件数 Items", str(len(facts.rows))),
    ]  # fmt: skip
    story: list[Any] = [
        Paragraph(REGISTER_TITLE, s.title),
        layout.grid(header, [60, 200], s.body),
        Spacer(1, 4 * mm),
    ]
    columns = [
        "编号 Item", "SHA-256", "大小 Bytes", "采集站 Station", "设备 Device", "民警 Officer",
        "录制时间 Recorded", "案件 Case", "保管期限 Retention", "鉴定意见 Appraisal",
        "批准 Approval", "删除对象 Deleted",
    ]  # fmt: skip
    rows: list[list[object]] = [list(columns)]
    for r in facts.rows:
        rows.append(
            [
                r.item_id,
                r.digest,
                f"{r.size:,}",
                r.station,
                r.device,
                r.officer,
                r.recorded,
                r.case,
                r.retention,
                r.decision,
                r.approval,
                r.objects,
            ]
        )
    widths = [22, 30, 15, 18, 18, 16, 22, 18, 28, 30, 28, 30]
    story += [
        layout.grid(rows, widths, s.small, header=True),
        Spacer(1, 6 * mm),
        layout.text(
            (
                "本清册所列电子数据已按批准的鉴定意见销毁；其元数据、摘要值与完整监管链作为记录永久保存。"  # noqa: RUF001
                " The recordings listed were destroyed as the approved appraisal decided; their"
                " metadata, digests and full custody chains are kept permanently as tombstones."
                " This register is signed first by the executor, then by the supervisor (PAdES,"
                " each with its certificate), and kept permanently under legal hold."
                f" Times are in {facts.zone}, with their offset from UTC."
            ),
            s.body,
        ),
    ]
    layout.build(target, story, title=REGISTER_TITLE, author=facts.organisation, wide=True)
