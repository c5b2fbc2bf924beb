"""The monthly compliance report as files: a CSV per station and device (plus one listing
every exception), and a bilingual PDF for the unit's supervisors."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from ingest.compliance_rule import ComplianceReport, ComplianceRow
from vault.documents import layout
from vault.moments import for_people

TITLE = "执法记录仪数据24小时上传合规月报 / Monthly 24-hour ingest compliance report"
SUMMARY_COLUMNS = [
    "scope", "name", "docked", "in_time", "late", "overdue", "vanished", "pending",
    "compliance_percent", "latency_p50_s", "latency_p90_s", "latency_max_s",
]  # fmt: skip
EXCEPTION_COLUMNS = [
    "station", "device", "file", "docked_after", "docked_at", "ingested_at", "hours", "verdict",
    "item",
]  # fmt: skip
VERDICTS = {
    "late": "超时 late",
    "overdue": "未上传 overdue",
    "vanished": "丢失 vanished",
    "rejected": "无法入库 rejected",
}


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _summary(row: ComplianceRow) -> list[str]:
    return [
        row.scope, row.name, str(row.docked), str(row.in_time), str(row.late), str(row.overdue),
        str(row.vanished), str(row.pending), _number(row.compliance, 2),
        _number(row.latency(50), 0), _number(row.latency(90), 0),
        _number(max(row.latencies) if row.latencies else None, 0),
    ]  # fmt: skip


def _iso(at: datetime | None) -> str:
    return "" if at is None else at.isoformat().replace("+00:00", "Z")


def exception_rows(
    report: ComplianceReport, when: Callable[[datetime | None], str] = _iso
) -> list[list[str]]:
    """Every recording not in time; instants by ``when`` (ISO 8601 for the CSV, the form for
    people in the PDF)."""
    rows = []
    for e in report.exceptions:
        d = e.docking
        until = d.ingested_at or report.made_at
        rows.append([d.station, d.device, d.name, when(d.docked_after), when(d.docked_at),
                     when(d.ingested_at),
                     f"{(until - d.counted_from).total_seconds() / 3600:.1f}", e.verdict,
                     d.item or ""])  # fmt: skip
    return rows


def write_csv(report: ComplianceReport, directory: Path) -> list[Path]:
    """compliance-YYYY-MM.csv (one row per station, then per device) and
    compliance-YYYY-MM-exceptions.csv (every recording that was not in time)."""
    summary = directory / f"compliance-{report.month}.csv"
    with open(summary, "x", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(_summary(row) for row in [*report.stations, *report.devices])
    exceptions = directory / f"compliance-{report.month}-exceptions.csv"
    with open(exceptions, "x", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(EXCEPTION_COLUMNS)
        writer.writerows(exception_rows(report))
    return [summary, exceptions]


def render_pdf(report: ComplianceReport, target: Path, *, font: str, organisation: str) -> None:
    s = layout.styles(font)

    def grid(rows: list[list[str]], widths: list[int]) -> Flowable:
        return layout.grid(rows, widths, s.mono, header=True)

    def local(at: datetime | None) -> str:
        return for_people(at, report.timezone, none="")

    heading = [
        "名称 Name", "上传 Docked", "按时 In time", "超时 Late", "未上传 Overdue",
        "丢失 Vanished", "待定 Pending", "合规率 Compliance %", "p50 h", "p90 h", "max h",
    ]  # fmt: skip

    def rows_of(rows: list[ComplianceRow]) -> list[list[str]]:
        out = [heading]
        for r in rows:
            hours = [r.latency(50), r.latency(90), max(r.latencies) if r.latencies else None]
            shown = [_number(h / 3600 if h is not None else None, 2) for h in hours]
            counts = [r.docked, r.in_time, r.late, r.overdue, r.vanished, r.pending]
            out.append([r.name, *map(str, counts), _number(r.compliance, 2), *shown])
        return out

    widths = [45, 20, 20, 20, 22, 22, 20, 30, 20, 20, 20]
    deadline_h = report.deadline.hours
    story: list[Any] = [
        layout.text(TITLE, s.title),
        layout.text(
            f"单位 Organisation: {organisation} · 月份 Month: {report.month} ({report.timezone},"
            f" {local(report.start)} - {local(report.end)}) · 时限 Deadline: {deadline_h:g} h ·"
            f" 生成时间 Made at: {local(report.made_at)}",
            s.body,
        ),
        Spacer(1, 4 * mm),
        layout.text("按采集站 By docking station", s.body),
        grid(rows_of(report.stations), widths),
        Spacer(1, 4 * mm),
        layout.text("按执法记录仪 By camera (device)", s.body),
        grid(rows_of(report.devices), widths),
        Spacer(1, 4 * mm),
        layout.text(f"例外 Exceptions ({len(report.exceptions)})", s.body),
    ]
    listed = [["采集站 Station", "设备 Device", "文件 File", "上传时间 Docked",
               "入库时间 Ingested", "小时 Hours", "结论 Verdict"]]  # fmt: skip
    for row in exception_rows(report, local):
        station, device, name, after, docked, ingested, hours, verdict, _ = row
        bound = f"{after} to {docked}" if after else f"≤ {docked}"
        listed.append([station, device, name, bound, ingested or "-", hours,
                       VERDICTS.get(verdict, verdict)])  # fmt: skip
    story += [
        grid(listed, [30, 25, 55, 70, 45, 15, 23]),
        Spacer(1, 4 * mm),
        layout.text(
            "合规率 = 按时入库数 / (上传数 - 待定数)。"
            "上传时间以本系统对采集站的记录为界:晚于最后一次未发现该文件的扫描,不晚于首次发现"
            "该文件的扫描(不采用设备或采集站时钟);时限自较早的界限起算。"
            " Compliance = in time / (docked - pending). Docked-at is bounded by the vault's own"
            " listings of the station, by the vault's clock (never a camera's or a station's):"
            " after the last listing that did not show the file and no later than the first that"
            " did (≤: no earlier listing). The deadline runs from the earlier bound, so a file"
            " that may have waited through an outage is not called in time."
            " Pending: not yet ingested but still inside the deadline."
            " Overdue: not ingested and past it. Vanished: gone from the station before the vault"
            " could take it.",
            s.body,
        ),
    ]
    layout.build(target, story, title=TITLE, author=organisation, wide=True)


def write_report(
    report: ComplianceReport, directory: Path, *, font: str, organisation: str
) -> list[Path]:
    """The two CSV files and the PDF, in ``directory``; refuses to overwrite any of them."""
    pdf = directory / f"compliance-{report.month}.pdf"
    targets = [directory / f"compliance-{report.month}{s}" for s in (".csv", "-exceptions.csv")]
    existing = [p for p in (*targets, pdf) if p.exists()]
    if existing:
        raise FileExistsError(f"{existing[0]} exists; the report never overwrites a file")
    written = write_csv(report, directory)
    render_pdf(report, pdf, font=font, organisation=organisation)
    return [*written, pdf]
