"""`evault gaps`: interruptions in a device's recording of an incident, and their reasons."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.requests import JsonOption, ReasonOption, TokenOption, _me
from api.cli.shared import console, context, print_json
from api.cli.tables import Table, local
from ingest.gaps import CAUSE_NAMES, GapCause

gaps_app = typer.Typer(
    help="Recording gaps: a device's clips of one incident with a pause between them.",
    invoke_without_command=True,
)


@gaps_app.callback()
def show_gaps(
    ctx: typer.Context,
    device: Annotated[str | None, typer.Option(help="Only this device (serial).")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Explained ones too.")] = False,
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """List unexplained gaps (pauses longer than gap_threshold_seconds between clips no more
    than gap_incident_window_minutes apart); explain one with `evault gaps explain`."""
    from api.cli.reads import reads

    if ctx.invoked_subcommand is not None:
        return
    source = reads(token)
    found = source.gaps(device=device, explained_too=everything)
    if as_json:
        print_json(found)
        return
    zone = source.zone
    table = Table("device", "stopped", "resumed", "seconds", "before", "after", "explanation")
    for gap in found:
        why = f"{gap.cause}: {gap.explanation} ({gap.explained_by})" if gap.cause else None
        table.add_row(
            gap.device, local(gap.stopped_at, zone), local(gap.resumed_at, zone),
            str(gap.seconds), str(gap.before), str(gap.after), why or "UNEXPLAINED",
        )  # fmt: skip
    console.print(table)


@gaps_app.command("explain")
def explain(
    before: Annotated[str, typer.Argument(help="The clip that stopped (id or digest prefix).")],
    after: Annotated[str, typer.Argument(help="The clip that resumed.")],
    cause: Annotated[
        GapCause, typer.Option(help=", ".join(f"{c.value} ({n})" for c, n in CAUSE_NAMES.items()))
    ],
    token: TokenOption = "",
    reason: ReasonOption = "",
) -> None:
    """Record why the recording stopped (custodian or investigator); it becomes a
    gap_explained event on both clips' custody chains."""
    from ingest.gap_service import explain_gap
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        user = _me(session, token)
        explain_gap(session, app.settings, before=before, after=after, cause=cause,
                    text=reason, user=user)  # fmt: skip
    console.print(f"recorded: {cause.value} — on the custody chains of both clips")
