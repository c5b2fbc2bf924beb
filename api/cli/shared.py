"""What every `evault` command shares: the consoles and start-up that fails in one line."""

from __future__ import annotations

import getpass
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from api.cli.tables import shown
from api.context import AppContext, open_context
from api.error_table import ExitCode, outcome_of
from config.logging import configure_logging
from config.settings import Settings, load_settings
from vault.errors import VaultError

console = Console()
err = Console(stderr=True)


def settings() -> Settings:
    try:
        return load_settings()
    except (ValidationError, FileNotFoundError) as exc:
        err.print(f"[red]configuration error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(ExitCode.USAGE) from exc


def context(*, migrate: bool = False, verifying: bool = False) -> AppContext:
    """The vault, opened for a command; ``verifying`` opens it even when the access bucket
    falls short (the audit reports that and still checks the sealed set)."""
    loaded = settings()
    configure_logging(level=loaded.log_level, fmt=loaded.log_format)
    try:
        return open_context(loaded, migrate=migrate, verifying=verifying)
    except VaultError as exc:
        fail(exc)


def cli_actor() -> str:
    """Who ran an administrative command: the operating-system account on the vault's host
    (the administration log names it; the CLI has no token of its own)."""
    return f"cli:{getpass.getuser()}"


def fail(exc: VaultError) -> NoReturn:
    """Say what went wrong in one line and exit with the error's code (api.error_table)."""
    err.print(f"[red]error:[/red] {shown(exc)}", soft_wrap=True)
    raise typer.Exit(outcome_of(exc).exit_code) from exc
