"""`evault request`, `approve`, `refuse`, `requests`, `fetch`: the access workflow at the
terminal. Each acts as the holder of an API token (--token or EVAULT_TOKEN), so the same rules
apply as over HTTP: nobody approves their own request, and every byte fetched is recorded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.shared import console, context, print_fields, print_json
from api.cli.tables import Table, local
from custody.access.purposes import Purpose, RequesterKind, RequestStatus
from vault.credential import current_token
from vault.errors import InputRejected, IntegrityViolation, NotAuthenticated
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
JsonOption = Annotated[
    bool, typer.Option("--json", help="One JSON document in the API's schema, for scripts.")
]


def _me(session: Session, token: str, role: Role | None = None) -> User:
    if not token:
        raise NotAuthenticated("give your API token with --token or EVAULT_TOKEN")
    from vault.accounts import authenticate, holding, token_prefix

    user = authenticate(session, token)
    current_token.set(token_prefix(token))
    return user if role is None else holding(user, [role])


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
    as_json: JsonOption = False,
) -> None:
    """Ask for access to recordings (investigator). Prints the request number.

    `evault request show NUMBER` shows one request: its items, status, and the decision with
    its reason."""
    from api.cli.reads import reads

    if items[:1] == ["show"]:  # "show" is never an item reference (those are hex)
        if len(items) != 2:
            raise InputRejected("usage: evault request show NUMBER")
        _show_request(items[1], token, as_json=as_json)
        return
    source = reads(token)
    made = source.ask(
        {
            "purpose": purpose.value, "reason": reason, "items": items, "case": case,
            "period_days": days, "requester_kind": on_behalf.value,
            "organisation": organisation, "document_ref": document, "identity_ref": identity,
        }
    )  # fmt: skip
    if as_json:
        print_json(made)
        return
    console.print(f"{made.number}: {len(made.items)} item(s), {made.status.value}")


def _show_request(number: str, token: str, *, as_json: bool) -> None:
    from api.cli.reads import reads

    source = reads(token)
    found = source.request(number)
    if as_json:
        print_json(found)
        return
    zone = source.zone
    fields = {
        "number": found.number,
        "requester": found.requester,
        "for": found.requester_kind.value
        + (f", {found.organisation}" if found.organisation else "")
        + (f" ({found.document_ref})" if found.document_ref else ""),
        "purpose": found.purpose.value,
        "reason": found.reason,
        "asked at": local(found.requested_at, zone),
        "period": f"{found.period_days} day(s)",
        "status": found.status.value,
        "decided by": found.decided_by or "-",
        "decided at": local(found.decided_at, zone),
        "decision reason": found.decision_reason or "-",
        "valid until": local(found.valid_until, zone),
        "items": "\n".join(str(i) for i in found.items) or "-",
    }
    print_fields(fields)


def _decide(ref: str, token: str, reason: str, *, approve: bool, as_json: bool) -> None:
    from api.cli.reads import reads

    source = reads(token)
    decided = source.decide(ref, approve=approve, reason=reason)
    if as_json:
        print_json(decided)
        return
    until = f" until {local(decided.valid_until, source.zone)}" if decided.valid_until else ""
    console.print(f"{decided.number}: {decided.status.value}{until}")


def approve(
    number: Annotated[str, typer.Argument(help="The request number, e.g. AR-20261124-1A2B3C")],
    token: TokenOption = "",
    reason: ReasonOption = "",
    as_json: JsonOption = False,
) -> None:
    """Approve someone else's request (approver); its period starts now."""
    _decide(number, token, reason, approve=True, as_json=as_json)


def refuse(
    number: Annotated[str, typer.Argument(help="The request number")],
    token: TokenOption = "",
    reason: ReasonOption = "",
    as_json: JsonOption = False,
) -> None:
    """Refuse a request (approver), with the reason."""
    _decide(number, token, reason, approve=False, as_json=as_json)


def requests(
    token: TokenOption = "",
    status: Annotated[
        RequestStatus | None, typer.Option(help="Only requests in this state.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the requests you may see (yours; all of them for approvers, auditors and
    custodians), newest first. `evault request show NUMBER` shows one whole."""
    from api.cli.reads import reads

    source = reads(token)
    found = [r for r in source.requests() if status is None or r.status == status]
    if as_json:
        print_json(found)
        return
    table = Table(title="access requests")
    for column in ("number", "by", "purpose", "items", "status", "valid until", "reason"):
        table.add_column(column)
    for r in found:
        until = local(r.valid_until, source.zone) if r.valid_until else ""
        table.add_row(
            r.number, r.requester, r.purpose.value, str(len(r.items)),
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
    from api.cli.downloads import new_file, receive
    from api.cli.shared import remote_url

    # Created before anything is recorded: a name that is taken must not cost a delivery.
    with new_file(out, refusal="fetch never overwrites a file") as target:
        if remote_url():
            size, stated, chunks = _remote_delivery(number, item, token)
        else:
            size, stated, chunks = _local_delivery(number, item, token)
        digest = receive(
            target, chunks, size=size, label=out.name, stated=stated, what="the bytes received"
        )
    console.print(f"wrote {out} ({size} bytes, sha256 {digest})")


def _local_delivery(number: str, item: str, token: str) -> tuple[int, str | None, Any]:
    """On the vault's host: hand_over checks the bytes against the recorded digest itself."""
    from custody.access import requests as access
    from custody.access.handover import hand_over
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory, read_only=True) as session:
        user = _me(session, token, Role.INVESTIGATOR)
        approved, found = access.authorize_delivery(session, ref=number, item_ref=item, user=user)
        handed = hand_over(
            factory=app.factory, session=session, stores=app.stores, request=approved,
            item=found, user=user, workdir=app.settings.data_dir / "work",
            chunk_size=app.settings.chunk_size,
        )  # fmt: skip
    return handed.size, None, handed.chunks


def _remote_delivery(number: str, item: str, token: str) -> tuple[int, str | None, Any]:
    """Through the API: the server records the delivery; the file is checked against the
    digest it states (Repr-Digest), and refused when it states none."""
    from api.cli.remote import ApiClient, segment
    from api.cli.shared import remote_url

    api = ApiClient(remote_url() or "", token)
    size, stated, chunks = api.download(
        f"/requests/{segment(number)}/items/{segment(item)}/content"
    )
    if stated is None:
        chunks.close()
        raise IntegrityViolation("the vault stated no digest for the file: nothing was kept")
    return size, stated, chunks
