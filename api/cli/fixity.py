"""`evault fixity run` and `evault fixity status`: scheduled re-hashing, from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.requests import JsonOption
from api.cli.shared import console, context, err, print_json
from api.cli.tables import Table, local, shown
from api.error_table import ExitCode

fixity_app = typer.Typer(
    help="Scheduled re-hashing of every stored copy, with repair from the other copy."
)


@fixity_app.command("run")
def fixity_run(
    everything: Annotated[
        bool, typer.Option("--all", help="Check every copy now, not this run's slice.")
    ] = False,
) -> None:
    """Re-hash this run's slice of copies (the daemon does this every fixity_run_minutes);
    record each result, quarantine and repair damaged copies. Exit 1 if any copy failed."""
    from custody.fixity.checks import run_slice

    app = context()
    settings = app.settings
    with err.status("re-hashing stored copies…"):
        outcomes = run_slice(
            app.factory, app.stores, cycle=settings.fixity_cycle,
            every=settings.fixity_run_every, chunk_size=settings.chunk_size,
            everything=everything,
        )  # fmt: skip
    for outcome in outcomes:
        if outcome.repaired:
            console.print(f"[yellow]REPAIRED[/yellow] {outcome.item_id} {outcome.copy} copy")
        elif not outcome.intact:
            console.print(
                f"[red]FAILED[/red] {outcome.item_id} {outcome.copy}: {shown(outcome.detail)}"
            )
    intact = sum(o.intact for o in outcomes)
    console.print(f"{len(outcomes)} cop(ies) checked, {intact} intact")
    if intact < len(outcomes):
        raise typer.Exit(ExitCode.FAILED_CHECK)


@fixity_app.command("status")
def fixity_status(as_json: JsonOption = False) -> None:
    """Quarantined copies and items with no intact copy left (exit 1 if there are any)."""
    from api.http.routes.proofs import fixity_out
    from custody.fixity.checks import fixity_alerts, quarantined
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory, read_only=True) as session:
        rows = quarantined(session)
        alerts = fixity_alerts(session)
        if as_json:
            print_json(fixity_out(session))
            if rows:
                raise typer.Exit(ExitCode.FAILED_CHECK)
            return
    table = Table("item", "copy", "status", "quarantined since")
    for row in rows:
        table.add_row(
            str(row.item_id),
            row.copy,
            row.status,
            local(row.quarantined_at, app.settings.display_timezone),
        )
    if not rows:
        console.print("[green]no copy is quarantined[/green]")
        return
    console.print(table)
    for alert in alerts:
        console.print(f"[red]{alert}[/red]")
    raise typer.Exit(ExitCode.FAILED_CHECK)
