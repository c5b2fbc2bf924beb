"""`evault sla`: the 24-hour guarantee, live (files waiting by age) and as the monthly
compliance report (CSV and PDF, per station and per device)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group
from rich.text import Text

from api.cli import tables
from api.cli.requests import JsonOption, TokenOption
from api.cli.shared import console, context, err, fail, print_json
from api.cli.tables import Table
from api.error_table import ExitCode
from vault.errors import VaultError

sla_app = typer.Typer(
    help="The 24-hour ingest guarantee: what waits on the stations, and the monthly report.",
    invoke_without_command=True,
)


@sla_app.callback()
def show_sla(
    ctx: typer.Context,
    watch: Annotated[
        float | None,
        typer.Option(min=1, help="Keep the view open, refreshed every this many seconds."),
    ] = None,
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Per station: files waiting and how long (past the deadline marked YES), recordings
    ingested late, and ingest latency. Exits 1 if any file is past the deadline. Works
    through --url too (a custodian's, auditor's or admin's token)."""
    from rich.live import Live

    from api.cli.reads import reads

    if ctx.invoked_subcommand is not None:
        return
    source = reads(token)
    report = source.sla()
    if as_json:
        print_json(report)
    elif watch is None:
        for table in tables.sla_tables(report):
            console.print(table)
    else:
        with Live(Group(*tables.sla_tables(report)), console=console) as live:
            try:
                while True:
                    time.sleep(watch)
                    report = source.sla()
                    live.update(Group(*tables.sla_tables(report)))
            except KeyboardInterrupt:
                pass
    if any(waiting.overdue for station in report for waiting in station.waiting):
        raise typer.Exit(ExitCode.FAILED_CHECK)


@sla_app.command("report")
def report_command(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM, in display_timezone.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for the CSV and PDF files.")
    ] = Path("."),
) -> None:
    """Write compliance-YYYY-MM.csv (per station and per device: docked, in time, late,
    overdue, vanished, pending, compliance %, latency), compliance-YYYY-MM-exceptions.csv
    (every recording not in time) and compliance-YYYY-MM.pdf (bilingual, for supervisors)."""
    from ingest.compliance import compliance_report
    from ingest.compliance_files import write_report
    from ingest.deadline import deadline_of
    from vault.db import unit_of_work, utcnow
    from vault.documents.fonts import register_cjk_font

    app = context()
    settings = app.settings
    try:
        font = register_cjk_font(settings.document_font)
        with unit_of_work(app.factory, read_only=True) as session:
            made = compliance_report(session, month=month, zone=settings.display_timezone,
                                     deadline=deadline_of(settings), now=utcnow())  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        written = write_report(made, out, font=font, organisation=settings.organisation)
    except FileExistsError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(ExitCode.REFUSED) from exc
    except VaultError as exc:
        fail(exc)
    for row in made.stations:
        share = "-" if row.compliance is None else f"{row.compliance:.2f} %"
        console.print(f"station {row.name}: {row.docked} docked, {row.in_time} in time,"
                      f" {row.late} late, {row.overdue} overdue, {row.vanished} vanished,"
                      f" {row.pending} pending; compliance {share}")  # fmt: skip
    for path in written:
        console.print(f"wrote {path}")


alerts_app = typer.Typer(invoke_without_command=True)  # its help: the callback's text


@alerts_app.callback()
def alerts_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
    open_only: Annotated[
        bool, typer.Option("--open", help="Only alerts nobody has acknowledged yet.")
    ] = False,
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Alerts raised, newest first: deadlines near or missed, unreachable stations, infected
    or unscanned recordings, station digest mismatches, copies placed over. Each names its
    recording, file and station, whether alert_webhook_url has received it, and who
    acknowledged it (`evault alerts acknowledge ID --reason ...` marks one seen to)."""
    from api.cli.reads import reads

    if ctx.invoked_subcommand is not None:
        return
    source = reads(token)
    zone = source.zone
    found = source.alerts(limit=limit, open_only=open_only)
    if as_json:
        print_json(found)
        return
    table = Table("raised", "id", "level", "kind", "about", "message", "webhook", "acknowledged")
    for alert in found:
        if alert.webhook_sent_at is not None:
            sent = f"sent {tables.local(alert.webhook_sent_at, zone)}"
        elif alert.webhook_attempts or alert.webhook_error:
            sent = f"pending ({alert.webhook_attempts} tries: {alert.webhook_error or '-'})"
        else:
            sent = "not sent (no webhook, or not tried yet)"
        level = Text(alert.level, "red" if alert.level == "error" else "yellow")
        seen = "-"
        if alert.acknowledged_at is not None:
            seen = (f"{tables.local(alert.acknowledged_at, zone)} by {alert.acknowledged_by}:"
                    f" {alert.acknowledgement}")  # fmt: skip
        alert_id = str(alert.id) if tables.piped() else str(alert.id)[:8]
        table.add_row(tables.local(alert.raised_at, zone), alert_id, level, alert.kind,
                      about(alert.details), alert.message, sent, seen)  # fmt: skip
    console.print(table)


@alerts_app.command("acknowledge")
def acknowledge_command(
    alert: Annotated[str, typer.Argument(help="The alert's id, or 6+ hex digits of it.")],
    reason: Annotated[
        str, typer.Option(help="What was done about it (kept with the alert and logged).")
    ],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Mark an alert seen to, saying what was done (custodian or admin). The alert stays,
    with who acknowledged it and why, and the act goes in the administration log; it leaves
    `evault alerts --open`. Works through --url too."""
    from api.cli.reads import reads

    done = reads(token).acknowledge(alert, reason=reason)
    if as_json:
        print_json(done)
        return
    console.print(f"alert {done.id} ({done.kind}) acknowledged by {done.acknowledged_by}")


def about(details: dict[str, object]) -> str:
    """What an alert is about, from its details: the file, the item, the station."""
    parts = []
    if details.get("file"):
        parts.append(f"file {details['file']}")
    if details.get("item"):
        item = str(details["item"])
        parts.append(f"item {item if tables.piped() else item[:8]}")
    if details.get("station"):
        parts.append(f"station {details['station']}")
    return ", ".join(parts) or "-"
