"""Turning records into rich tables and lines for people.

Stored text (a file name from a station, a sidecar value, a request's reason) is shown as text,
never interpreted: Rich markup in it is printed literally and control, bidi and zero-width
characters are shown as \\uXXXX, so nobody who can name a file or write a reason can crash the
CLI, plant a hyperlink, hide text or reverse it on a custodian's or approver's terminal."""

from __future__ import annotations

import sys
import unicodedata
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from vault.moments import for_people

if TYPE_CHECKING:
    from api.cli.reads import ItemRecord
    from api.doctor import Check
    from api.http.schemas import EventOut, ItemOut
    from api.http.sla_schemas import StationSlaOut

_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def visible(text: str) -> str:
    """Control, format (bidi overrides, zero-width) and line/paragraph separator characters
    as \\uXXXX; line breaks and tabs stay."""
    return "".join(
        c if c in "\n\t" or unicodedata.category(c) not in _INVISIBLE else f"\\u{ord(c):04x}"
        for c in text
    )


def shown(value: object) -> str:
    """Stored text for a line that also carries markup: escaped, and made visible."""
    return escape(visible(str(value)))


def piped() -> bool:
    """stdout is a pipe or a file, not a person's terminal: a script reads it."""
    return not sys.stdout.isatty()


class Table(RichTable):
    """A rich Table whose text cells and title are text, never markup (pass a Text for a
    styled cell). Piped, it is plain space-separated columns with no box, at full width (the
    console does not wrap when piped: see api.cli.shared)."""

    def __init__(self, *headers: str, title: str | None = None, **options: Any) -> None:
        if piped():
            options.setdefault("box", None)
        super().__init__(*headers, title=Text(visible(title)) if title else None, **options)

    def add_row(self, *renderables: Any, **options: Any) -> None:
        cells = [Text(visible(r)) if isinstance(r, str) else r for r in renderables]
        super().add_row(*cells, **options)


def local(at: datetime | None, zone: str) -> str:
    """The vault's one format for people (vault.moments), in the display time zone."""
    return for_people(at, zone)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def human_age(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def items_table(items: list[ItemOut], zone: str) -> Table:
    table = Table(title=f"{len(items)} item(s)")
    for column in (
        "id",
        "name",
        "station",
        "device",
        "officer",
        "recorded",
        "size",
        "media",
        "status",
    ):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            str(item.id) if piped() else str(item.id)[:8],
            item.original_name,
            item.station,
            item.device or "-",
            item.officer or "-",
            local(item.recorded_start, zone),
            human_size(item.size),
            item.media_status.value,
            item.status.value,
        )
    return table


def custody_table(events: list[EventOut], zone: str) -> Table:
    table = Table(title="custody chain")
    for column in ("seq", "when", "kind", "actor", "reason", "entry hash"):
        table.add_column(column, overflow="fold")
    for event in events:
        table.add_row(
            str(event.seq),
            local(event.at, zone),
            event.kind,
            event.actor,
            event.reason or "",
            event.entry_hash if piped() else event.entry_hash[:16] + "…",
        )
    return table


def item_fields(record: ItemRecord, zone: str) -> dict[str, str]:
    """`evault show`: everything the API says about an item and its retention, for people."""
    item, retention = record.item, record.retention
    end = "permanent" if retention.retain_until is None else local(retention.retain_until, zone)
    holds = [f"{h.reference} ({h.placed_by}, {local(h.placed_at, zone)}): {h.reason}"
             for h in retention.holds]  # fmt: skip
    scan = item.scan_status.value + (f": {item.scan_detail}" if item.scan_detail else "")
    return {
        "id": str(item.id),
        "name": item.original_name,
        "sha256": item.digest,
        "size": f"{item.size} bytes ({human_size(item.size)})",
        "media type": item.media_type,
        "media": item.media_status.value,
        "probe error": item.probe_error or "-",
        "station": item.station,
        "device": item.device or "-",
        "officer": item.officer or "-",
        "recorded": f"{local(item.recorded_start, zone)} .. {local(item.recorded_end, zone)}",
        "duration": f"{item.duration_ms / 1000:.1f}s" if item.duration_ms else "-",
        "docked at": local(item.docked_at, zone),
        "ingested at": local(item.ingested_at, zone),
        "station metadata": str(item.station_metadata or "-"),
        "status": item.status.value,
        "virus scan": scan
        + (f" (released by {item.scan_released_by})" if item.scan_released_by else ""),
        "case": item.case or "-",
        "flags": ", ".join(item.flags) or "-",
        "retention": f"{end} ({retention.rule}: {retention.basis})",
        "categories": ", ".join(retention.categories) or "-",
        "legal holds": "; ".join(holds) or "-",
        **copy_fields(record, zone),
    }


def copy_fields(record: ItemRecord, zone: str) -> dict[str, str]:
    """Each stored copy with its last fixity result, and the rendition, for `evault show`."""
    made = record.copies
    fields = {}
    for copy in made.copies:
        if copy.status == "destroyed":
            fields[f"{copy.copy_} copy"] = f"destroyed {local(made.destroyed_at, zone)}"
            continue
        checked = "never checked" if copy.last_checked_at is None else (
            f"checked {local(copy.last_checked_at, zone)}")  # fmt: skip
        held = f", quarantined {local(copy.quarantined_at, zone)}" if copy.quarantined_at else ""
        kind, _, digest = copy.copy_.partition(":")  # derived copies: one per digest
        name = f"{kind} copy" + (f" {digest[:8]}" if digest else "")
        fields[name] = f"{copy.status} ({checked}{held}) sha256 {copy.digest}"
    rendition = made.rendition
    if rendition is None:
        fields["rendition"] = "none yet"
    elif rendition.status == "made":
        size = human_size(rendition.size or 0)
        made_at = local(rendition.finished_at, zone)
        fields["rendition"] = f"made {made_at}, {size}, sha256 {rendition.digest}"
    else:
        fields["rendition"] = rendition.status + (f": {rendition.error}" if rendition.error else "")
    return fields


def sla_tables(report: list[StationSlaOut]) -> list[Table]:
    """`evault sla`, drawn from GET /sla's document (so the same on the host and at a desk)."""
    tables = []
    for station in report:
        overdue = sum(1 for w in station.waiting if w.overdue)
        table = Table(
            title=(
                f"station {station.station}: {len(station.waiting)} waiting,"
                f" {overdue} past the {hours_for_people(station.deadline_hours)} deadline,"
                f" {len(station.late)} ingested late; latency over {station.latency_count}"
                f" item(s): p50 {hours_for_people(station.latency_p50_hours)}"
                f" p90 {hours_for_people(station.latency_p90_hours)}"
                f" p99 {hours_for_people(station.latency_p99_hours)}"
                f" max {hours_for_people(station.latency_max_hours)}"
            )
        )
        for column in ("file", "state", "size", "waiting for", "overdue", "last error"):
            table.add_column(column, overflow="fold")
        for waiting in station.waiting:
            table.add_row(
                waiting.file,
                waiting.state,
                human_size(waiting.size),
                hours_for_people(waiting.waiting_hours),
                "YES" if waiting.overdue else "",
                waiting.last_error or "",
            )
        for late in station.late:
            table.add_row(
                late.name,
                f"ingested late (item {late.item[:8]})",
                "",
                hours_for_people(late.latency_hours),
                "late",
                "",
            )
        tables.append(table)
    return tables


def hours_for_people(hours: float | None) -> str:
    return "-" if hours is None else human_age(timedelta(hours=hours))


def doctor_table(results: list[Check]) -> Table:
    from api.doctor import Status

    styles = {Status.PASS: Text("PASS", "green"), Status.WARN: Text("WARN", "yellow")}
    table = Table(title="evault doctor")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    table.add_column("fix", overflow="fold")
    for result in results:
        status = styles.get(result.status, Text("FAIL", "red"))
        table.add_row(result.name, status, result.detail, result.fix)
    return table
