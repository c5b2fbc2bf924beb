"""The `evault` command line."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from api.cli import tables
from api.cli.accounts import token_app, user_app
from api.cli.demo import build_demo_station, demo_config, demo_people
from api.cli.export import export_command
from api.cli.fixity import fixity_app
from api.cli.gaps import gaps_app
from api.cli.proofs import audit_app, checkpoint_app, key_app, verify_and_print
from api.cli.requests import TokenOption, approve, fetch, refuse, request, requests
from api.cli.retention import case_app, hold_app, retention_app
from api.cli.serve import run, serve
from api.cli.shared import cli_actor, console, err, fail, print_fields, print_json, use_remote
from api.cli.shared import context as _context
from api.cli.shared import settings as _settings
from api.cli.sla import alerts_app, sla_app
from api.cli.virus import rescan, virus_app
from api.error_table import ExitCode, outcome_of
from vault.credential import current_token
from vault.errors import VaultError

if TYPE_CHECKING:
    from api.context import AppContext
    from vault.models import EvidenceItem

app = typer.Typer(
    help=(
        "evidence-vault: chain-of-custody vault for body-worn camera footage.\n\n"
        "Run with no command to start the vault (HTTP API and ingest daemon). First time? Try\n"
        "`evault demo` then `evault`. Settings come from EVAULT_* variables and ./evault.toml."
    ),
    epilog=(
        "Exit status: 0 done; 1 a check found a failure (verify, fixity, sla, doctor); 2 a"
        " malformed argument or input, or a configuration that cannot work; 3 refused by a"
        " rule (not allowed, pending, expired, exists, would shorten retention); 4 not found;"
        " 5 a store, database or station could not be reached."
    ),
    no_args_is_help=False,
    rich_markup_mode="rich",
    # Locals can hold database URLs and credentials: never print them in a traceback.
    pretty_exceptions_show_locals=False,
)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(checkpoint_app, name="checkpoint")
app.add_typer(key_app, name="key")
app.add_typer(fixity_app, name="fixity")
app.add_typer(retention_app, name="retention")
app.add_typer(hold_app, name="hold")
app.add_typer(case_app, name="case")
app.add_typer(virus_app, name="virus")
app.add_typer(gaps_app, name="gaps")
app.add_typer(sla_app, name="sla")
app.add_typer(alerts_app, name="alerts")
app.command()(serve)
app.command("export")(export_command)
app.command()(run)
app.command()(rescan)
for workflow_command in (request, approve, refuse, requests, fetch):
    app.command()(workflow_command)


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML settings file (default: ./evault.toml if present).",
            envvar="EVAULT_CONFIG",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", help="Print the installed version and exit.")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="EVAULT_URL",
            help="Work through this vault's HTTP API (e.g. https://vault.example:8400) with"
            " your --token: list, show, custody, requests, request, approve, refuse, fetch, export,"
            " case and hold commands, the retention steps, gaps, alerts (and acknowledge).",
            show_default=False,
        ),
    ] = None,
) -> None:
    if version:
        from importlib.metadata import version as installed_version

        console.print(f"evault {installed_version('evidence-vault')}", highlight=False)
        raise typer.Exit(ExitCode.DONE)
    if config is not None:
        os.environ["EVAULT_CONFIG"] = str(config)
    use_remote(url)
    if ctx.invoked_subcommand is None:
        run()


@app.command()
def init(
    admin: Annotated[
        str, typer.Option(help="Name of the first administrator, made when the vault has none")
    ] = "admin",
) -> None:
    """Create the data directory, the database schema and both stores. Safe to re-run.

    On a vault with no active administrator it adds one (--admin, default `admin`) and prints
    a new random console password once: sign in with it at the console, then set your own
    with `evault user passwd NAME`.
    """
    from custody.admin import acts
    from custody.log.keys import ensure_key
    from vault.db import unit_of_work

    context = _context(migrate=True, serving=True)
    settings = context.settings
    with unit_of_work(context.factory) as session:
        key, _ = ensure_key(session, settings.keys_path, configured_origin=settings.log_origin)
        key_id, origin = key.key_id, key.name
        password = acts.first_admin(session, actor=cli_actor(), username=admin)
    console.print(f"database  {settings.database}  [green]migrated[/green]")
    console.print(f"sealed    {context.stores.sealed.location()}")
    console.print(f"access    {context.stores.access.location()}")
    console.print(
        f"log       {origin}, checkpoint key {key_id} in {settings.keys_path}"
        " (back this directory up, apart from the evidence)"
    )
    if not context.settings.stations:
        console.print(
            "no stations configured yet: add [\\[stations]] to evault.toml (or run `evault demo`)"
        )
    if password is not None:
        console.print(
            f"admin     [bold]{admin}[/bold] added, console password (shown this once):"
            f" [bold]{password}[/bold]\n          sign in at http://{settings.api_host}:"
            f"{settings.api_port}/ and change it with `evault user passwd {admin}`"
        )


@app.command()
def doctor() -> None:
    """Check this configuration for real and print what passes, what fails, and the fix.

    Connects to the database and checks it is migrated; writes and removes a probe in each
    store; asks an S3 sealed bucket for Object Lock and proves it refuses to delete a
    COMPLIANCE-locked probe; compares clocks; runs ffmpeg; looks at each station directory.
    Exit status 1 when any check fails.
    """
    from api.doctor import Status, run_checks
    from config.logging import configure_logging

    settings = _settings()
    configure_logging(level="ERROR", fmt=settings.log_format)
    results = run_checks(settings)
    console.print(tables.doctor_table(results))
    failed = [r for r in results if r.status == Status.FAIL]
    if failed:
        err.print(f"[red]{len(failed)} check(s) failed[/red]: fix them and run `evault doctor`")
        raise typer.Exit(ExitCode.FAILED_CHECK)
    console.print("[green]all checks passed[/green]")


@app.command()
def daemon() -> None:
    """Scan the configured stations on an interval and ingest what is ready, until SIGTERM."""
    from ingest.daemon import Daemon
    from ingest.runner import build_context

    context = _context(serving=True)
    if not context.settings.stations:
        err.print(
            "[yellow]no stations configured[/yellow]: add [[stations]] to evault.toml,"
            " or run `evault demo` for a demo station"
        )
        raise typer.Exit(ExitCode.USAGE)
    ingest_ctx = build_context(context.settings, context.factory, context.stores)
    console.print(
        f"[green]evidence-vault running[/green]: watching "
        f"{', '.join(s.name for s in context.settings.stations)}; Ctrl-C stops."
        " In another terminal: `evault list`, `evault sla`, `evault verify`."
    )
    Daemon(ingest_ctx).run()


@app.command()
def ingest(
    once: Annotated[
        bool,
        typer.Option("--once", help="Scan, let files settle, ingest everything ready, then exit."),
    ] = False,
) -> None:
    """Ingest from the configured stations. With --once, one pass (for cron): the deadline
    alerts are raised as the daemon would; exits 1 if an ingest worker failed."""
    from ingest.daemon import check_deadline, remove_stale_temps
    from ingest.runner import build_context, run_once

    if not once:
        daemon()
        return
    context = _context()
    ingest_ctx = build_context(context.settings, context.factory, context.stores)
    remove_stale_temps(ingest_ctx)
    done = run_once(ingest_ctx, workers=context.settings.ingest_workers)
    for summary in done.summaries:
        console.print(
            f"station {summary.station}: {summary.listed} listed, {summary.ready} ready,"
            f" {summary.rejected} rejected, {summary.vanished} vanished"
        )
    raised = check_deadline(ingest_ctx)
    if raised:
        console.print(f"{raised} alert(s) raised: see `evault alerts`")
    for failure in done.worker_failures:
        err.print(f"[red]ingest worker failed:[/red] {escape(failure)}", soft_wrap=True)
    if done.worker_failures:
        raise typer.Exit(ExitCode.FAILED_CHECK)


@app.command("render")
def render_command() -> None:
    """Make the viewing rendition (H.264/AAC MP4) of every item that has none yet, once.

    The daemon does this on its own; this is for a one-off pass. An item ffmpeg cannot read
    gets a rendition_failed custody event with ffmpeg's reason, and stays sealed and listed.
    """
    from ingest.renditions import render_pending
    from ingest.runner import build_context

    context = _context()
    ingest_ctx = build_context(context.settings, context.factory, context.stores)
    made, failed = render_pending(ingest_ctx)
    console.print(f"renditions: {made} made, {failed} failed")


JsonOption = Annotated[
    bool, typer.Option("--json", help="One JSON document in the API's schema, for scripts.")
]


@app.command("list")
def list_command(
    station: Annotated[str | None, typer.Option(help="Only this station.")] = None,
    device: Annotated[str | None, typer.Option(help="Only this device serial.")] = None,
    officer: Annotated[str | None, typer.Option(help="Only this officer.")] = None,
    since: Annotated[datetime | None, typer.Option(help="Recorded at or after (ISO 8601).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Recorded before (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 200,
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """List evidence items, newest first (piped: whole ids, plain columns)."""
    from api.cli.reads import ItemQuery, reads

    source = reads(token)
    zone = source.zone
    query = ItemQuery(station, device, officer, _aware(since, zone), _aware(until, zone), limit)
    items = source.items(query)
    if as_json:
        print_json(items)
        return
    console.print(tables.items_table(items, zone))


def _aware(value: datetime | None, zone: str) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(zone))


def _item(context: AppContext, reference: str) -> EvidenceItem:
    from vault.db import unit_of_work
    from vault.items import find_item

    with unit_of_work(context.factory) as session:
        try:
            return find_item(session, reference)
        except VaultError as exc:
            fail(exc)


@app.command()
def show(
    item_id: Annotated[str, typer.Argument(help="Item id, id prefix or digest prefix.")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Everything recorded about one item: the recording, its virus scan, case and flags, its
    retention end and the rule that set it, its categories and legal holds."""
    from api.cli.reads import reads

    source = reads(token)
    record = source.item(item_id)
    if as_json:
        print_json(record)
        return
    print_fields(tables.item_fields(record, source.zone))


@app.command()
def custody(
    item_id: Annotated[str, typer.Argument(help="Item id, id prefix or digest prefix.")],
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """The item's custody chain: every event, in order, with its hash."""
    from api.cli.reads import reads

    source = reads(token)
    events = source.custody(item_id)
    if as_json:
        print_json(events)
        return
    console.print(tables.custody_table(events, source.zone))


@app.command()
def verify(
    item_id: Annotated[
        str | None, typer.Argument(help="Only this item (the log is always checked whole).")
    ] = None,
    rehash_objects: Annotated[
        bool,
        typer.Option(
            "--rehash/--no-rehash",
            help="Re-read and re-hash both copies and the rendition of every item.",
        ),
    ] = True,
) -> None:
    """Recompute every custody chain and the Merkle tree from the raw rows, check the
    checkpoints, and re-hash both copies and the rendition of each item.

    Prints each failure (which item, which entry, what was expected); exits 1 on any.
    `evault audit verify` adds sampling and a witness file."""
    ids = [_item(_context(verifying=True), item_id).id] if item_id else None
    verify_and_print(ids, rehash_objects=rehash_objects)


@app.command()
def demo(
    clips: Annotated[int, typer.Option(min=1, max=20, help="How many ordinary clips.")] = 4,
    slow_seconds: Annotated[
        float, typer.Option(help="How long the 'still being written' file keeps growing.")
    ] = 30.0,
) -> None:
    """Make a demo docking station (clips generated by ffmpeg, one with sidecar metadata, one
    that is not a video, one still being written) and configure it in ./evault.toml."""
    from config.settings import DEFAULT_CONFIG_FILE

    settings = _settings()
    station_dir = (settings.data_dir / "demo-station").resolve()
    if DEFAULT_CONFIG_FILE.exists() or os.environ.get("EVAULT_CONFIG"):
        console.print(
            "a settings file exists already; add this station to it:\n" + demo_config(station_dir)
        )
    else:
        DEFAULT_CONFIG_FILE.write_text(demo_config(station_dir), encoding="utf-8")
        console.print(f"wrote {DEFAULT_CONFIG_FILE} with the demo station")
    context = _context(migrate=True)
    for line in build_demo_station(station_dir, clips=clips, slow_seconds=slow_seconds):
        console.print(f"  {line}")
    passwords = settings.data_dir / "demo-passwords.txt"
    made = demo_people(context.factory, passwords)
    if made:
        console.print(f"console users (also in {passwords}):")
        for line in made:
            console.print(f"  {line}", highlight=False)
    console.print(
        f"demo station ready at {station_dir}. Start the vault with `evault`, then open"
        f" http://{settings.api_host}:{settings.api_port}/ and sign in as one of the users above."
    )


def main(args: list[str] | None = None) -> None:
    """`evault ARGS`: ends by SystemExit with the exit code; a VaultError is one line on stderr
    and the exit code api.error_table gives its class, never a traceback."""
    credential = current_token.set(None)  # set by --token, for this command only
    try:
        app(args=args, prog_name="evault")
    except VaultError as exc:
        err.print(f"[red]error:[/red] {tables.shown(exc)}", soft_wrap=True)
        sys.exit(outcome_of(exc).exit_code)
    finally:
        current_token.reset(credential)


if __name__ == "__main__":
    main()
