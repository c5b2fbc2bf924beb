"""`evault virus`: recordings without a clean virus check, and releasing a flagged one."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.requests import ReasonOption, TokenOption, _me
from api.cli.shared import console, context
from api.cli.tables import Table, shown
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
