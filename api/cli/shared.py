"""What every `evault` command shares: the consoles and start-up that fails in one line."""

from __future__ import annotations

import getpass
import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

from api.cli.tables import shown
from api.error_table import ExitCode, outcome_of
from vault.errors import Unavailable, VaultError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from api.context import AppContext
    from config.settings import Settings

# Piped (a script, a file), lines are never wrapped: a 36-character id stays on one line.
# On a terminal rich wraps to its width.
UNWRAPPED = 100_000
console = Console(width=None if sys.stdout.isatty() else UNWRAPPED)
err = Console(stderr=True, width=None if sys.stderr.isatty() else UNWRAPPED)


REMOTE_COMMANDS = (
    "list, show, custody, requests, request, approve, refuse, fetch, export (--zip), case (list,"
    " show, open, attach, close, flag), hold (list, place, release), retention (due, batches,"
    " appraise, approve, refuse, supervise, destroy), gaps, sla, alerts and alerts acknowledge"
)
_remote: dict[str, str] = {}


def use_remote(url: str | None) -> None:
    """`--url` / EVAULT_URL: the person-facing commands go through that vault's API."""
    _remote.clear()
    if url:
        _remote["url"] = url


def remote_url() -> str | None:
    return _remote.get("url")


def print_json(value: BaseModel | list[Any]) -> None:
    """One JSON document on stdout, in the API's schema (times ISO 8601 UTC with Z)."""
    if isinstance(value, list):
        data: Any = [
            v.model_dump(mode="json", by_alias=True) if hasattr(v, "model_dump") else v
            for v in value
        ]
    else:
        data = value.model_dump(mode="json", by_alias=True)
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_fields(fields: dict[str, str], *, width: int = 16) -> None:
    """A record for people: one right-aligned name and its value (shown as text) per line."""
    for key, value in fields.items():
        console.print(f"[bold]{key:>{width}}[/bold]  {shown(value)}", highlight=False)


def settings() -> Settings:
    from pydantic import ValidationError

    from config.settings import load_settings

    try:
        return load_settings()
    except (ValidationError, FileNotFoundError) as exc:
        err.print(f"[red]configuration error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(ExitCode.USAGE) from exc


def context(*, migrate: bool = False, verifying: bool = False, serving: bool = False) -> AppContext:
    """The vault, opened for a command; ``verifying`` opens it even when the access bucket
    falls short (the audit reports that and still checks the sealed set).

    A one-off command opens the stores only if it uses them, and leaves the advice about a
    working but weak setup (one device for both copies) to `evault doctor`: a successful read
    prints nothing on stderr. ``serving`` (the daemon, the API, init) opens and checks them at
    once and logs that advice."""
    from sqlalchemy.exc import OperationalError

    from api.context import open_context
    from config.logging import configure_logging

    if remote_url():
        # Opening a database here would make (or read) a vault on this desk instead: refuse.
        err.print(
            f"[red]error:[/red] this command runs on the vault's host only, not through"
            f" {shown(remote_url())}; the ones that work from any desk are {REMOTE_COMMANDS}"
            " (unset EVAULT_URL or drop --url)",
            soft_wrap=True,
        )
        raise typer.Exit(ExitCode.USAGE)
    loaded = settings()
    configure_logging(level=loaded.log_level, fmt=loaded.log_format)
    try:
        return open_context(
            loaded, migrate=migrate, verifying=verifying, lazy_stores=not serving, advise=serving
        )
    except VaultError as exc:
        fail(exc)
    except OperationalError as exc:
        # The driver's own first line names the host and the cause, never the password.
        reason = str(exc.orig or exc).strip().splitlines()[0]
        fail(Unavailable(f"the database could not be reached: {reason}"))


def cli_actor() -> str:
    """Who ran an administrative command: the operating-system account on the vault's host
    (the administration log names it; the CLI has no token of its own)."""
    return f"cli:{getpass.getuser()}"


def fail(exc: VaultError) -> NoReturn:
    """Say what went wrong in one line and exit with the error's code (api.error_table)."""
    err.print(f"[red]error:[/red] {shown(exc)}", soft_wrap=True)
    raise typer.Exit(outcome_of(exc).exit_code) from exc
