"""`evault user …` and `evault token …`: who may use the HTTP API, and with which roles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.requests import JsonOption
from api.cli.shared import cli_actor, console, context, print_json
from api.cli.tables import Table, local, shown
from vault.errors import InputRejected
from vault.roles import Role

ROLES_HELP = "Role(s): " + ", ".join(r.value for r in Role) + ". Repeat --role for several."

user_app = typer.Typer(help="Add, list, change the roles of, and disable the vault's users.")
token_app = typer.Typer(
    help="Issue and revoke API tokens. A token is shown once, when issued; the vault keeps"
    " only its hash."
)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name, e.g. li.wei")],
    role: Annotated[list[str], typer.Option("--role", "-r", help=ROLES_HELP)],
    name: Annotated[str, typer.Option(help="Display name, e.g. 'Li Wei'")] = "",
) -> None:
    """Add a user with one or more roles."""
    from custody.admin import acts
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        user = acts.add_user(
            session, actor=cli_actor(), username=username, roles=role, display_name=name,
            admin_may_approve=app.settings.admin_may_approve,
        )  # fmt: skip
        console.print(f"added {shown(user.username)} ({', '.join(user.roles)})")


@user_app.command("list")
def user_list(as_json: JsonOption = False) -> None:
    """List users, their roles, and whether they are disabled."""
    from api.http.schemas import UserOut
    from vault import accounts
    from vault.db import unit_of_work

    app = context()
    zone = app.settings.display_timezone
    with unit_of_work(app.factory, read_only=True) as session:
        users = [UserOut.model_validate(u, from_attributes=True)
                 for u in accounts.list_users(session)]  # fmt: skip
    if as_json:
        print_json(users)
        return
    table = Table(title="users")
    for column in ("user", "name", "roles", "disabled"):
        table.add_column(column)
    for user in users:
        disabled = local(user.disabled_at, zone) if user.disabled_at else ""
        table.add_row(user.username, user.display_name, ", ".join(user.roles), disabled)
    console.print(table)


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Let a disabled user back in (recorded in the administration log). Tokens revoked
    stay revoked; they sign in to the console afresh."""
    from custody.admin import acts
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        acts.enable_user(session, actor=cli_actor(), username=username)
    console.print(f"enabled {shown(username)}")


@user_app.command("roles")
def user_roles(
    username: Annotated[str, typer.Argument(help="Login name")],
    grant: Annotated[
        list[str] | None, typer.Option("--grant", "-g", help="Role to grant. " + ROLES_HELP)
    ] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="Role to remove.")] = None,
) -> None:
    """Grant or remove roles, e.g. `evault user roles li.wei --grant custodian`. Recorded in
    the administration log; admin and approver are never held together."""
    from custody.admin import acts
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        user = acts.change_roles(
            session, actor=cli_actor(), username=username, grant=grant or [],
            remove=remove or [], admin_may_approve=app.settings.admin_may_approve,
        )  # fmt: skip
        console.print(f"{shown(user.username)} holds {', '.join(user.roles)}")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Disable a user: their tokens stop working at once. Nothing they did is erased."""
    from custody.admin import acts
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        acts.disable_user(session, actor=cli_actor(), username=username)
    console.print(f"disabled {shown(username)}")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="Login name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Set the password a person signs in to the web console with (at least 12 characters;
    kept as an argon2id hash). Asks twice at a terminal; any open console session ends."""
    from custody.admin import acts
    from vault.db import unit_of_work

    if password_stdin:
        password = typer.get_text_stream("stdin").readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    app = context()
    with unit_of_work(app.factory) as session:
        acts.set_password(session, actor=cli_actor(), username=username, password=password)
    console.print(f"password set for {shown(username)}; they sign in at the console's /signin")


@token_app.command("issue")
def token_issue(
    username: Annotated[str, typer.Argument(help="Whose token")],
    days: Annotated[int, typer.Option(help="Days until it expires (1-366)")] = 90,
    label: Annotated[str, typer.Option(help="What it is for, e.g. 'li.wei laptop'")] = "",
) -> None:
    """Issue a token and print it once. Use it as `Authorization: Bearer <token>`."""
    from custody.admin import acts
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        issued = acts.issue_token(
            session, actor=cli_actor(), username=username, label=label, days=days
        )
        expires = local(issued.token.expires_at, app.settings.display_timezone)
    console.print(f"token for {shown(username)}, expires {expires} (shown only now):")
    console.print(issued.secret, soft_wrap=True, highlight=False)


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every token by its prefix (the secret is never kept): holder, label, when it was issued,
    when it expires, and whether it was revoked. Newest first."""
    from api.cli.reads import ListedToken
    from vault import accounts
    from vault.db import unit_of_work

    app = context()
    zone = app.settings.display_timezone
    with unit_of_work(app.factory, read_only=True) as session:
        holder = accounts.find_user(session, user) if user else None
        found = [
            ListedToken(prefix=t.prefix, holder=t.user.username, label=t.label,
                        created_at=t.created_at, expires_at=t.expires_at,
                        revoked_at=t.revoked_at)
            for t in accounts.list_tokens(session, holder)
        ]  # fmt: skip
    if as_json:
        print_json(found)
        return
    table = Table("prefix", "holder", "label", "issued", "expires", "revoked")
    for t in found:
        table.add_row(t.prefix, t.holder, t.label, local(t.created_at, zone),
                      local(t.expires_at, zone),
                      local(t.revoked_at, zone) if t.revoked_at else "")  # fmt: skip
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    prefix: Annotated[str, typer.Argument(help="The token, or its first characters")],
) -> None:
    """Revoke a token at once."""
    from custody.admin import acts
    from vault import accounts
    from vault.db import unit_of_work

    app = context()
    with unit_of_work(app.factory) as session:
        token = acts.revoke_token(
            session, actor=cli_actor(), prefix=prefix[: len(accounts.TOKEN_PREFIX) + 6]
        )
        console.print(f"revoked {token.prefix}… ({shown(token.label or 'no label')})")


@user_app.command("keys")
def user_keys(
    username: Annotated[str, typer.Argument(help="Login name")],
    pkcs12_file: Annotated[
        Path | None, typer.Option("--pkcs12", help="Import this PKCS#12 (.p12/.pfx) file.")
    ] = None,
    key_file: Annotated[Path | None, typer.Option("--key", help="Import this PEM key.")] = None,
    cert_file: Annotated[
        Path | None, typer.Option("--cert", help="…with this PEM certificate.")
    ] = None,
    passphrase_file: Annotated[
        Path | None, typer.Option(help="File holding the import's passphrase (not echoed).")
    ] = None,
) -> None:
    """Provision a person's document-signing key (executors and supervisors sign registers).

    Without options the vault's own CA issues a new key and certificate. With signing_ca set
    (an external CA), import the person's PKCS#12 or PEM key and certificate from that CA."""
    from vault import accounts
    from vault.db import unit_of_work
    from vault.pki import import_user_key, issue_user_key

    app = context()
    settings = app.settings
    with unit_of_work(app.factory, read_only=True) as session:
        user = accounts.find_user(session, username)
        display = user.display_name or user.username
    passphrase = passphrase_file.read_bytes().rstrip(b"\r\n") if passphrase_file else None
    importing = pkcs12_file is not None or key_file is not None
    try:
        if importing:
            files = import_user_key(
                settings.keys_path, username,
                ca_certificate=settings.signing_ca or settings.keys_path / "ca" / "ca.pem",
                pkcs12_data=pkcs12_file.read_bytes() if pkcs12_file else None,
                key_pem=key_file.read_bytes() if key_file else None,
                cert_pem=cert_file.read_bytes() if cert_file else None,
                passphrase=passphrase,
            )  # fmt: skip
        elif settings.signing_ca is not None:
            raise InputRejected(
                "signing_ca names an external CA: import this person's certificate from it"
                " with --pkcs12 FILE (or --key and --cert)"
            )
        else:
            files = issue_user_key(settings.keys_path, username, display_name=display,
                                   organisation=settings.organisation)  # fmt: skip
    except ValueError as exc:
        raise InputRejected(f"cannot use that key: {exc}") from exc
    console.print(
        f"{username}: signing certificate {files.certificate} (issued by {files.ca_certificate})"
    )
