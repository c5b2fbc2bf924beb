"""`evault virus`: recordings without a clean virus check, and releasing a flagged one."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.requests import ReasonOption, TokenOption, _me
from api.cli.shared import cli_actor, console, context, err
from api.cli.tables import Table, shown
from api.error_table import ExitCode
from vault.roles import Role

virus_app = typer.Typer(
    help="Virus checks: recordings flagged infected or unscanned, and their release."
)


@virus_app.command("list")
def list_flagged() -> None:
    """Items whose virus check was not clean: infected (preserved, never handed out unless
    released) and unscanned (no scanner could look at them)."""
    from custody.access.virus_release import flagged_items
    from vault.db import unit_of_work

    with unit_of_work(context().factory, read_only=True) as session:
        table = Table("item", "name", "verdict", "detail", "released by")
        for item in flagged_items(session):
            table.add_row(str(item.id), item.original_name, item.scan_status.value,
                          item.scan_detail or "", item.scan_released_by or "")  # fmt: skip
    console.print(table)


@virus_app.command("release")
def release(
    item: Annotated[str, typer.Argument(help="The item (id or digest prefix).")],
    token: TokenOption = "",
    reason: ReasonOption = "",
) -> None:
    """Let an infected recording be handed out (approver): renditions, deliveries and exports
    then treat it like any other. The decision and its reason go on its custody chain."""
    from custody.access.virus_release import release_infected
    from vault.db import unit_of_work

    with unit_of_work(context().factory) as session:
        approver = _me(session, token, Role.APPROVER)
        released = release_infected(session, ref=item, approver=approver, reason=reason)
        console.print(
            f"released {released.id} ({shown(released.scan_detail)}); recorded in custody"
        )


def rescan(
    items: Annotated[
        list[str] | None,
        typer.Argument(help="Items to scan (id or digest prefix); default: the unscanned ones."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, help="At most this many, oldest first, when none is named.")
    ] = 1000,
) -> None:
    """Scan again the recordings preserved unscanned (the scanner was down or off at ingest):
    each sealed copy is streamed through the configured scanner (virus_scanner) and hashed on
    the way, and the verdict is recorded on the item's custody chain (virus_rescanned, with
    the verdict it replaces) only if the bytes scanned are the item's. An infected one is
    flagged and alerted as at ingest. Exits 1 if one is infected or its copy does not match,
    5 if the scanner cannot run (nothing is recorded for the item it was scanning)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

    from ingest.rescan import CopyDoesNotMatch, record_rescan, scan_copy, to_rescan
    from ingest.virus import make_scanner
    from vault.db import unit_of_work
    from vault.models import ScanStatus

    app = context()
    with unit_of_work(app.factory, read_only=True) as session:
        wanted = to_rescan(session, items or [], limit=limit)
    if not wanted:
        console.print("no unscanned recordings")
        return
    scanner = make_scanner(app.settings)
    found_problem = False
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        for one in wanted:
            task = progress.add_task(f"scanning {shown(one.name)}", total=one.size)

            def advance(n: int, task: TaskID = task) -> None:
                progress.advance(task, n)

            try:
                outcome = scan_copy(
                    scanner,
                    app.stores.sealed,
                    one,
                    chunk_size=app.settings.chunk_size,
                    on_bytes=advance,
                )
            except CopyDoesNotMatch as exc:
                err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
                found_problem = True
                continue
            finally:
                progress.remove_task(task)
            with unit_of_work(app.factory) as session:
                record_rescan(session, one.id, outcome, actor=cli_actor())
            found_problem |= outcome.status == ScanStatus.INFECTED
            console.print(f"{one.id} {shown(one.name)}: {outcome.status.value} ({outcome.detail});"
                          " recorded in custody")  # fmt: skip
    if found_problem:
        raise typer.Exit(ExitCode.FAILED_CHECK)
