"""`evault retention …`, `evault hold …`, `evault case …`: retention ends, legal holds,
appraisal, the principal's approval and destruction with its signed register. Each step acts
as the holder of an API token (--token or EVAULT_TOKEN), with the same rules as over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.requests import JsonOption, TokenOption, _me
from api.cli.shared import console, context, err, print_fields, print_json
from api.cli.tables import Table, local, shown
from retention.decisions import Decision
from vault.errors import InputRejected
from vault.roles import CaseFlag, Role

if TYPE_CHECKING:
    pass

retention_app = typer.Typer(
    help="Retention ends and the only way anything is ever deleted: due -> appraise ->"
    " approve (principal) -> supervise -> destroy (executor), which makes the signed register."
)
hold_app = typer.Typer(help="Legal holds: while one is active the item cannot be destroyed.")
case_app = typer.Typer(help="Cases: open, attach items, close, flag. Each can extend retention.")
NoteOption = Annotated[str, typer.Option("--note", "-m", help="Goes on the record.")]


@retention_app.command("policy")
def policy_show() -> None:
    """The retention policy in force (version, periods, permanent flags and categories)."""
    from retention.policy import current_policy, current_version
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory, read_only=True) as session:
        row, policy = current_version(session), current_policy(session)
    version = f"version {row.version} by {row.created_by}: {row.reason}" if row else "defaults"
    console.print(f"[bold]{version}[/bold]")
    for key, value in policy.model_dump(mode="json").items():
        console.print(f"  {key:>22}  {value}")


@retention_app.command("policy-set")
def policy_set(
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why; goes on the record.")],
    token: TokenOption = "",
    case_years: Annotated[int | None, typer.Option(help="Years after a case closes.")] = None,
    unattached_years: Annotated[
        int | None, typer.Option(help="Years for recordings in no case.")
    ] = None,
    floor_months: Annotated[int | None, typer.Option(help="The floor (at least 6).")] = None,
    permanent_flag: Annotated[
        list[str], typer.Option(help="Add a case flag that makes recordings permanent.")
    ] = [],  # noqa: B006
    permanent_category: Annotated[
        list[str], typer.Option(help="Add a category kept permanently.")
    ] = [],  # noqa: B006
) -> None:
    """Change the policy (admin). Refused, with the count, if any existing item would get an
    earlier end; otherwise the items it extends are extended (stores included)."""
    from retention import changes
    from retention.policy import current_policy
    from retention.rules import RetentionPolicy
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        user = _me(session, token, Role.ADMIN)
        old = current_policy(session)
        changed = {
            key: value
            for key, value in {"case_years": case_years, "unattached_years": unattached_years,
                               "floor_months": floor_months}.items()
            if value is not None
        }  # fmt: skip
        new = RetentionPolicy.model_validate(
            {**old.model_dump(), **changed,
             "permanent_case_flags": old.permanent_case_flags | set(permanent_flag),
             "permanent_categories": old.permanent_categories | set(permanent_category)}
        )  # fmt: skip
        edit = changes.edit_policy(session, app.stores, new, user=user, reason=reason)
    console.print(f"policy version {edit.version} in force; {edit.extended} item(s) extended")


def _end(until: datetime | None, zone: str) -> str:
    """A retention end for people: the instant, or permanent (no end)."""
    return "permanent" if until is None else local(until, zone)


@retention_app.command("due")
def due(token: TokenOption = "", as_json: JsonOption = False) -> None:
    """Items past their retention end, grouped for the appraisal group (exit 0 either way).
    On the vault's host no token is needed; through --url, an overseer's."""
    from api.cli.steps import steps

    source = steps(token)
    items = source.due()
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("nothing is due for appraisal")
        return
    table = Table("group", "item", "sha256", "station", "end", "rule")
    for item in sorted(items, key=lambda i: i.group):
        table.add_row(
            item.group, str(item.item), item.digest[:16], item.station,
            _end(item.retain_until, source.zone), item.rule or "-",
        )  # fmt: skip
    console.print(table)


@retention_app.command("appraise")
def appraise(
    reason: Annotated[str, typer.Option("--reason", "-m", help="The group's reasons.")],
    token: TokenOption = "",
    member: Annotated[list[str], typer.Option(help="Another appraisal group member.")] = [],  # noqa: B006
    destroy: Annotated[list[str], typer.Option(help="An item to destroy.")] = [],  # noqa: B006
    keep: Annotated[list[str], typer.Option(help="An item to keep (needs --keep-until).")] = [],  # noqa: B006
    keep_until: Annotated[
        str | None,
        typer.Option(help="New end for kept items, ISO 8601 (UTC unless an offset is given)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the appraisal group's decisions (appraiser). Prints the batch number."""
    from api.cli.steps import steps
    from retention import appraisal

    decisions = [appraisal.DecisionIn(ref, Decision.DESTROY, reason) for ref in destroy]
    until = _utc(keep_until)
    decisions += [appraisal.DecisionIn(ref, Decision.KEEP, reason, until) for ref in keep]
    batch = steps(token).appraise(member, decisions)
    if as_json:
        print_json(batch)
        return
    console.print(f"{batch.number}: {len(destroy)} to destroy, {len(keep)} kept ({batch.status})")


def _utc(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputRejected(f"--keep-until {value!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _decide(number: str, token: str, note: str, *, approve: bool, as_json: bool) -> None:
    from api.cli.steps import steps

    batch = steps(token).decide(number, approve=approve, note=note)
    if as_json:
        print_json(batch)
        return
    console.print(f"{batch.number}: {batch.status}")


@retention_app.command("approve")
def approve(
    number: Annotated[str, typer.Argument(help="Batch number (APR-…).")],
    note: NoteOption,
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Approve a batch's destructions (principal)."""
    _decide(number, token, note, approve=True, as_json=as_json)


@retention_app.command("refuse")
def refuse(
    number: Annotated[str, typer.Argument(help="Batch number (APR-…).")],
    note: NoteOption,
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Refuse a batch's destructions (principal): its items stay and can be appraised again."""
    _decide(number, token, note, approve=False, as_json=as_json)


@retention_app.command("supervise")
def supervise(
    number: Annotated[str, typer.Argument(help="Batch number (APR-…).")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Take an approved batch as its supervisor (监销人); you will countersign the register."""
    from api.cli.steps import steps

    batch = steps(token).supervise(number)
    if as_json:
        print_json(batch)
        return
    console.print(f"{batch.number}: supervised by {shown(batch.supervisor)}")


@retention_app.command("destroy")
def destroy(
    number: Annotated[str, typer.Argument(help="Batch number (APR-…).")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Execute an approved, supervised batch (executor): re-check every precondition, delete
    every copy, make the register signed by you and the supervisor, keep tombstones."""
    from api.cli.steps import steps

    source = steps(token)
    with err.status(f"destroying batch {number}…"):
        result = source.destroy(number)
    if as_json:
        print_json(result)
        return
    console.print(
        f"{result.batch}: {result.items} item(s) destroyed, {result.objects_deleted} object(s)"
        f" deleted; register sha256 {result.register_digest} ({result.register_size} bytes),"
        " kept permanently in the sealed store"
    )
    if result.checkpoint_size is not None:
        console.print(f"signed checkpoint of {result.checkpoint_size} entries covers it")


@retention_app.command("batches")
def batches(token: TokenOption = "", as_json: JsonOption = False) -> None:
    """Appraisal batches, newest first."""
    from api.cli.steps import steps

    found = steps(token).batches()
    if as_json:
        print_json(found)
        return
    table = Table("batch", "status", "items", "principal", "executor", "supervisor")
    for b in found:
        table.add_row(b.number, b.status, str(len(b.decisions)), b.decided_by or "-",
                      b.executor or "-", b.supervisor or "-")  # fmt: skip
    console.print(table)


@retention_app.command("register")
def register(
    number: Annotated[str, typer.Argument(help="Batch number (APR-…).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the PDF.")],
) -> None:
    """Write a destroyed batch's signed register (check: pyhanko sign validate --trust CA)."""
    from retention.register_store import register_chunks, register_digest
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory, read_only=True) as session:
        digest = register_digest(session, number)
    with open(out, "xb") as target:
        for chunk in register_chunks(app.stores, digest, chunk_size=app.settings.chunk_size):
            target.write(chunk)
    console.print(f"wrote {out} (sha256 {digest})")


@retention_app.command("categorize")
def categorize(
    item: Annotated[str, typer.Argument(help="Item id or digest prefix.")],
    category: Annotated[list[str], typer.Argument(help="e.g. obstruction, mass_incident")],
    token: TokenOption = "",
) -> None:
    """Add categories to an item (custodian); some make it permanent."""
    from retention import changes
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        user = _me(session, token, Role.CUSTODIAN)
        found = changes.categorize(session, app.stores, item, category, user=user)
        console.print(f"{found.id}: {', '.join(found.categories)}; ends"
                      f" {_end(found.retain_until, app.settings.display_timezone)}"
                      f" ({found.retention_rule})")  # fmt: skip


@hold_app.command("place")
def hold_place(
    item: Annotated[str, typer.Argument(help="Item id or digest prefix.")],
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why.")],
    reference: Annotated[str, typer.Option(help="Court order, case number, letter.")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Place a legal hold (approver)."""
    from api.cli.steps import steps

    hold = steps(token).place_hold(item, reason=reason, reference=reference)
    if as_json:
        print_json(hold)
        return
    console.print(f"hold {hold.id} placed on {hold.item}")


@hold_app.command("release")
def hold_release(
    hold_ref: Annotated[
        str, typer.Argument(help="Hold id or at least 6 hex digits of it (`evault hold list`).")
    ],
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why.")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Release a legal hold (approver)."""
    from api.cli.steps import steps

    hold = steps(token).release_hold(hold_ref, reason=reason)
    if as_json:
        print_json(hold)
        return
    console.print(f"hold {hold.id} released")


@hold_app.command("list")
def hold_list(
    released: Annotated[bool, typer.Option("--all", help="Released holds too.")] = False,
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Active legal holds (with --all, released ones too), oldest first."""
    from api.cli.reads import reads

    source = reads(token)
    zone = source.zone
    found = source.holds(released_too=released)
    if as_json:
        print_json(found)
        return
    table = Table("hold", "item", "reference", "placed by", "placed at", "released")
    for hold in found:
        table.add_row(str(hold.id), str(hold.item), hold.reference, hold.placed_by,
                      local(hold.placed_at, zone),
                      local(hold.released_at, zone) if hold.released_at else "")  # fmt: skip
    console.print(table)


@case_app.command("list")
def case_list(token: TokenOption = "", as_json: JsonOption = False) -> None:
    """Every case: number, title, flags, when opened and closed, how many items."""
    from api.cli.reads import reads

    source = reads(token)
    zone = source.zone
    found = source.cases()
    if as_json:
        print_json(found)
        return
    table = Table("case", "title", "flags", "opened", "closed", "items")
    for case in found:
        table.add_row(case.number, case.title, ", ".join(case.flags), local(case.opened_at, zone),
                      local(case.closed_at, zone) if case.closed_at else "open",
                      str(len(case.items)))  # fmt: skip
    console.print(table)


@case_app.command("show")
def case_show(
    number: Annotated[str, typer.Argument(help="Case number.")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """One case and its items (whole ids)."""
    from api.cli.reads import reads

    source = reads(token)
    zone = source.zone
    case = source.case(number)
    if as_json:
        print_json(case)
        return
    fields = {
        "case": case.number,
        "title": case.title or "-",
        "flags": ", ".join(case.flags) or "-",
        "opened": local(case.opened_at, zone),
        "closed": local(case.closed_at, zone) if case.closed_at else "open",
        "items": "\n".join(str(i) for i in case.items) or "-",
    }
    print_fields(fields, width=8)


@case_app.command("open")
def case_open(
    number: Annotated[str, typer.Argument(help="Case number, e.g. 2026-117.")],
    title: Annotated[str, typer.Option(help="A short title.")] = "",
    flag: Annotated[list[CaseFlag], typer.Option(help="major, hearing, litigation, …")] = [],  # noqa: B006
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Open a case (custodian or investigator)."""
    from api.cli.steps import steps

    case = steps(token).open_case(number, title=title, flags=flag)
    if as_json:
        print_json(case)
        return
    console.print(f"case {shown(case.number)} opened")


@case_app.command("attach")
def case_attach(
    number: Annotated[str, typer.Argument(help="Case number.")],
    items: Annotated[list[str], typer.Argument(help="Item ids or digest prefixes.")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Attach items to a case (custodian or investigator); their retention follows the case."""
    from api.cli.steps import steps

    case = steps(token).attach(number, items)
    if as_json:
        print_json(case)
        return
    console.print(f"case {shown(case.number)}: {len(case.items)} item(s)")


@case_app.command("close")
def case_close(
    number: Annotated[str, typer.Argument(help="Case number.")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Close a case now (the vault's time); its items' ends are counted from today."""
    from api.cli.steps import steps

    case = steps(token).close_case(number)
    if as_json:
        print_json(case)
        return
    console.print(f"case {shown(case.number)} closed")


@case_app.command("flag")
def case_flag(
    number: Annotated[str, typer.Argument(help="Case number.")],
    flag: Annotated[list[CaseFlag], typer.Argument(help="major, hearing, litigation, …")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Add flags to a case (custodian); major, hearing, litigation make its items permanent."""
    from api.cli.steps import steps

    case = steps(token).flag_case(number, flag)
    if as_json:
        print_json(case)
        return
    console.print(f"case {shown(case.number)}: {', '.join(case.flags)}")
