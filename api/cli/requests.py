"""`evault request`, `approve`, `refuse`, `requests`, `fetch`: the access workflow at the
terminal. Each acts as the holder of an API token (--token or EVAULT_TOKEN), so the same rules
apply as over HTTP: nobody approves their own request, and every byte fetched is recorded."""

from __future__ import annotations

import hashlib
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.shared import console, context
from api.cli.tables import Table, local
from custody.access.purposes import Purpose, RequesterKind
from vault.credential import current_token
from vault.errors import AccessDenied, Conflict, NotAuthenticated
from vault.roles import Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vault.models import User

# The domain and database modules are imported in the commands that use them: `evault --help`
# and every other command start without them (bench/cli.py).

TokenOption = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="EVAULT_TOKEN",
        help="Your API token (or set EVAULT_TOKEN); `evault token issue YOU` makes one.",
        show_default=False,
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", "-m", help="Why: it goes on the record.")]


def _me(session: Session, token: str, role: Role | None = None) -> User:
    if not token:
        raise NotAuthenticated("give your API token with --token or EVAULT_TOKEN")
    from vault.accounts import authenticate, token_prefix

    user = authenticate(session, token)
    current_token.set(token_prefix(token))
    if role is not None and not user.has_any(frozenset({role})):
        raise AccessDenied(f"this needs the {role.value} role")
    return user


def request(
    items: Annotated[list[str], typer.Argument(help="Item ids or digest prefixes.")] = [],  # noqa: B006
    token: TokenOption = "",
    reason: ReasonOption = "",
    purpose: Annotated[
        Purpose, typer.Option(help="view, copy_original, copy_rendition or export")
    ] = (Purpose.VIEW),
    case: Annotated[str | None, typer.Option(help="Every item of this case number.")] = None,
    days: Annotated[int, typer.Option(help="How long the loan runs (1-7 days).")] = 3,
    on_behalf: Annotated[
        RequesterKind, typer.Option("--for", help="Who the recordings are for.")
    ] = RequesterKind.INTERNAL,
    organisation: Annotated[str, typer.Option(help="Their organisation.")] = "",
    document: Annotated[str, typer.Option(help="Letter no., licence, filing certificate.")] = "",
    identity: Annotated[str, typer.Option(help="A party's identity document.")] = "",
) -> None:
    """Ask for access to recordings (investigator). Prints the request number."""
    from custody.access import requests as access
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        user = _me(session, token, Role.INVESTIGATOR)
        new = access.NewRequest(
            purpose=purpose,
            reason=reason,
            items=items,
            case=case,
            period_days=days,
            requester_kind=on_behalf,
            organisation=organisation,
            document_ref=document,
            identity_ref=identity,
        )
        made = access.create_request(
            session, user=user, new=new, views_need_approval=app.settings.views_need_approval
        )
        console.print(f"{made.number}: {len(made.items)} item(s), {made.status.value}")


def _decide(ref: str, token: str, reason: str, *, approve: bool) -> None:
    from custody.access import requests as access
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        user = _me(session, token, Role.APPROVER)
        zone = app.settings.display_timezone
        decided = access.decide(session, ref=ref, approver=user, approve=approve, reason=reason)
        until = f" until {local(decided.valid_until, zone)}" if decided.valid_until else ""
        console.print(f"{decided.number}: {decided.status.value}{until}")


def approve(
    number: Annotated[str, typer.Argument(help="The request number, e.g. AR-20261124-1A2B3C")],
    token: TokenOption = "",
    reason: ReasonOption = "",
) -> None:
    """Approve someone else's request (approver); its period starts now."""
    _decide(number, token, reason, approve=True)


def refuse(
    number: Annotated[str, typer.Argument(help="The request number")],
    token: TokenOption = "",
    reason: ReasonOption = "",
) -> None:
    """Refuse a request (approver), with the reason."""
    _decide(number, token, reason, approve=False)


def requests(token: TokenOption = "") -> None:
    """List the requests you may see (yours; all of them for approvers and auditors)."""
    from custody.access import requests as access
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory, read_only=True) as session:
        user = _me(session, token)
        table = Table(title="access requests")
        for column in ("number", "by", "purpose", "items", "status", "valid until", "reason"):
            table.add_column(column)
        for r in access.visible_requests(session, user):
            until = local(r.valid_until, app.settings.display_timezone) if r.valid_until else ""
            table.add_row(
                r.number, r.requester.username, r.purpose.value, str(len(r.items)),
                r.status.value, until, r.reason,
            )  # fmt: skip
    console.print(table)


def fetch(
    number: Annotated[str, typer.Argument(help="Your approved request")],
    item: Annotated[str, typer.Argument(help="An item of it (id or digest prefix)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write; must not exist.")],
    token: TokenOption = "",
) -> None:
    """Fetch one item of your approved, unexpired request into a new file (investigator).

    The custody event is recorded before the first byte; the file is checked against the
    digest recorded for it."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from custody.access import requests as access
    from custody.access.handover import hand_over
    from vault.db import unit_of_work

    app = context()
    try:
        # Created before anything is recorded: a name that is taken must not cost a delivery.
        target = open(out, "xb")  # noqa: SIM115 - closed below
    except FileExistsError:
        raise Conflict(f"{out} exists; fetch never overwrites a file") from None
    hasher = hashlib.sha256()
    try:
        with unit_of_work(app.factory, read_only=True) as session:
            user = _me(session, token, Role.INVESTIGATOR)
            approved, found = access.authorize_delivery(
                session, ref=number, item_ref=item, user=user
            )
            handed = hand_over(
                factory=app.factory,
                session=session,
                stores=app.stores,
                request=approved,
                item=found,
                user=user,
                workdir=app.settings.data_dir / "work",
                chunk_size=app.settings.chunk_size,
            )
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
        with closing(handed.chunks), target, Progress(*columns, TransferSpeedColumn()) as progress:
            task = progress.add_task(out.name, total=handed.size)
            for chunk in handed.chunks:
                target.write(chunk)
                hasher.update(chunk)
                progress.advance(task, len(chunk))
    except BaseException:
        target.close()
        out.unlink(missing_ok=True)  # nothing, or a copy that failed its check, is not left
        raise
    console.print(f"wrote {out} ({handed.size} bytes, sha256 {hasher.hexdigest()})")
