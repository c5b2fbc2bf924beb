"""`evault audit verify`, `evault checkpoint …` and `evault key …`: invariant 4 for auditors."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli import tables
from api.cli.requests import JsonOption
from api.cli.shared import console, context, err, print_json
from api.cli.tables import Table, shown
from api.error_table import ExitCode
from vault.errors import Conflict

if TYPE_CHECKING:
    from api.context import AppContext
    from custody.log.audit import AuditReport
    from custody.log.checkpoints import WitnessFile

if TYPE_CHECKING:
    from custody.log.audit_report import ReportFacts

audit_app = typer.Typer(help="Prove that no recording and no custody record was altered.")
checkpoint_app = typer.Typer(
    help="Signed checkpoints of the custody log (C2SP tlog-checkpoint, Ed25519).",
    invoke_without_command=True,
)
key_app = typer.Typer(help="The log's checkpoint signing keys.")


def verify_and_print(
    item_ids: list[uuid.UUID] | None,
    *,
    rehash_objects: bool = True,
    sample: int | None = None,
    witness: WitnessFile | None = None,
    pdf: Path | None = None,
    recompute: bool = False,
) -> None:
    """Run the audit with a progress bar, print each failure (and write the signed PDF
    report when asked), exit 1 on any failure."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from custody.log.audit import audit
    from custody.log.audit_runs import report_facts
    from custody.log.timestamps import load_trust_roots
    from vault.db import unit_of_work
    from vault.models import EvidenceItem

    if pdf is not None and pdf.exists():  # refused before the (long) audit runs
        raise Conflict(f"{pdf} exists; the audit report never overwrites a file")
    app = context(verifying=True)
    with (
        unit_of_work(app.factory, read_only=True, snapshot=True) as session,
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("re-hashing objects", total=None)
        report = audit(
            session,
            app.stores,
            tsa_roots=load_trust_roots(app.settings.tsa_trust_roots),
            item_ids=item_ids,
            rehash_objects=rehash_objects,
            sample=sample,
            witness=witness,
            chunk_size=app.settings.chunk_size,
            progress=lambda _item, n: progress.advance(task, n),
            recompute=recompute,
        )
        names = {i.id: i.original_name for i in session.query(EvidenceItem)}
        if pdf is not None:
            _write_report(app, report, report_facts(session, sample=sample, witness=witness), pdf)
    _print_report(report, names)


def _write_report(app: AppContext, report: AuditReport, facts: ReportFacts, pdf: Path) -> None:
    from custody.log.audit_runs import write_signed_report

    unsigned_name = pdf.with_name(f".{pdf.name}.{uuid.uuid4().hex}")
    signer = write_signed_report(app.settings, report, facts, unsigned_name)
    unsigned_name.rename(pdf)  # written beside it, then moved: never a half-written report
    stamped = "with a time stamp" if app.settings.tsa_url else "without a time stamp (no tsa_url)"
    err.print(
        f"wrote {pdf}, signed {stamped}; anyone can check it with"
        f" `pyhanko sign validate --trust {signer.ca_certificate} {pdf}`",
        soft_wrap=True,
    )


def _print_report(report: AuditReport, names: dict[uuid.UUID, str]) -> None:
    for finding in report.findings:
        who = (
            f"item {finding.item_id} ({names.get(finding.item_id, 'unknown item')})"
            if finding.item_id
            else "custody log"
        )
        where = f" entry seq {finding.seq}" if finding.seq is not None else ""
        console.print(
            f"[red]FAIL[/red] {shown(f'{who}{where}: {finding.message}')}", highlight=False
        )
    summary = (
        f"{report.items_checked} item(s), {report.entries_checked} custody entries,"
        f" {report.admin_entries_checked} administration entries,"
        f" {tables.human_size(report.bytes_rehashed)} re-hashed"
    )
    if report.ok:
        signed = (
            f", {report.checkpoints_checked} signed checkpoint(s)"
            if report.checkpoints_checked
            else ""
        )
        console.print(
            f"[green]OK[/green] {summary}: every chain, the Merkle tree{signed} and every"
            " object checked verified"
        )
        for limit in report.unproven:
            console.print(
                f"[yellow]NOT PROVEN TO AN OUTSIDER[/yellow]: {shown(limit)}", highlight=False
            )
        return
    console.print(f"[red]{len(report.findings)} failure(s)[/red] in {summary}")
    raise typer.Exit(ExitCode.FAILED_CHECK)


@audit_app.command("verify")
def audit_verify(
    sample: Annotated[
        int | None,
        typer.Option(min=1, help="Re-hash the objects of N randomly chosen items, not all."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="Also write the result to this new file as a PDF signed by the vault (PAdES;"
            " time-stamped when tsa_url is set); an existing file is never overwritten. Check"
            " it with `pyhanko sign validate --trust CA FILE`.",
        ),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="A witness file from `evault checkpoint export`: prove the log still extends"
            " the checkpoint in it, with the public keys in it (not the vault's own).",
        ),
    ] = None,
    recompute: Annotated[
        bool,
        typer.Option(
            help="Re-canonicalise every entry from its columns (RFC 8785, in Python) instead of"
            " hashing and parsing the bytes stored for it: several times slower, and it also"
            " proves every stored entry canonical (by default a sample of 2,000 is).",
        ),
    ] = False,
) -> None:
    """Check every chain and the Merkle tree from the raw rows, every checkpoint's signature
    and the consistency between them, and re-hash the objects.

    Each entry's stored bytes must hash to its entry_hash and say exactly what its columns
    say; the log is read in seq ranges by one process per core when it is large.
    Prints each failure (which item, which entry, what was expected); exits 1 on any."""
    from custody.log.checkpoints import WitnessFile

    witness = None
    if against is not None:
        try:
            witness = WitnessFile.from_json(against.read_text(encoding="utf-8"))
        except ValueError as exc:
            err.print(f"[red]{against}: {exc}[/red]")
            raise typer.Exit(ExitCode.USAGE) from exc
    verify_and_print(None, sample=sample, witness=witness, pdf=report, recompute=recompute)


@checkpoint_app.callback()
def checkpoint(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option(help="Sign even if nothing was appended since the latest.")
    ] = False,
) -> None:
    """Sign the current tree head now (the daemon also does so on a schedule)."""
    if ctx.invoked_subcommand is not None:
        return
    _run_job(force=force, renew=False)


def _run_job(*, force: bool, renew: bool) -> None:
    from custody.log.checkpoints import run_checkpoint_job

    app = context()
    run = run_checkpoint_job(app.factory, app.settings, app.stores.sealed, force=force, renew=renew)
    made = run.made
    if made is None:
        console.print("the log is empty or unchanged since the last checkpoint (--force re-signs)")
    else:
        console.print(made.note, highlight=False, soft_wrap=True)
        renews = f", renews checkpoint {made.renews_id}" if made.renews_id else ""
        console.print(f"checkpoint {made.id}: {made.tree_size} entries, key {made.key_id}{renews}")
    if run.stamped:
        console.print(f"time-stamped {run.stamped} checkpoint(s) by {app.settings.tsa_url}")
    if run.sealed:
        console.print(f"kept {run.sealed} checkpoint(s) in the sealed store")
    if run.tsa_error:
        err.print(f"[yellow]not time-stamped yet[/yellow]: {run.tsa_error} (retried next run)")
        raise typer.Exit(ExitCode.FAILED_CHECK)


@checkpoint_app.command("renew")
def checkpoint_renew() -> None:
    """Re-sign the latest checkpoint under the current key (run after `evault key rotate`)."""
    _run_job(force=False, renew=True)


@checkpoint_app.command("export")
def checkpoint_export(
    target: Annotated[Path, typer.Argument(help="File to write (give it to an outside party).")],
) -> None:
    """Write the latest checkpoint and the log's public keys for a witness to keep.

    Later, `evault audit verify --against FILE` proves nothing before it was rewritten."""
    from custody.log.checkpoints import export_witness
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory, read_only=True) as session:
        witness = export_witness(session)
    target.write_text(witness.to_json(), encoding="utf-8")
    console.print(f"wrote {target}")


@key_app.command("rotate")
def key_rotate() -> None:
    """Start signing with a new key; the old one is retired and its public key kept."""
    from custody.log.keys import rotate_key
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        row = rotate_key(session, app.settings.keys_path, configured_origin=app.settings.log_origin)
        console.print(f"new signing key {row.key_id}; run `evault checkpoint renew` next")


@key_app.command("list")
def key_list(as_json: JsonOption = False) -> None:
    """Every key the log has signed with, as note verifier keys outsiders can configure."""
    from api.http.proof_schemas import KeyOut
    from custody.log.keys import list_keys
    from custody.log.signed_note import verifier_key
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory, read_only=True) as session:
        keys = [KeyOut(key_id=k.key_id, name=k.name, created_at=k.created_at,
                       retired_at=k.retired_at,
                       verifier_key=verifier_key(k.name, bytes(k.public_key)))
                for k in list_keys(session)]  # fmt: skip
    if as_json:
        print_json(keys)
        return
    zone = app.settings.display_timezone
    table = Table("key id", "created", "retired")
    table.add_column("verifier key", overflow="fold")
    for key in keys:
        table.add_row(key.key_id, tables.local(key.created_at, zone),
                      tables.local(key.retired_at, zone) if key.retired_at else "current",
                      key.verifier_key)  # fmt: skip
    console.print(table)
