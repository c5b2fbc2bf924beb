"""Administration in the console: people (add, roles, disable, a new password shown once),
API tokens (each person issues their own, shown once; an admin or the holder revokes) and the
settings in force with every secret masked. The same administrative acts as `evault user`
and the API, so the admin/approver rule and the administration log apply."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from api.context import AppContext
from api.http.deps import SessionDep, app_context
from api.http.schemas import TokenIn, UserIn
from api.web.forms import WHOLE_FORM, FormErrors, parsed, refusal
from api.web.guard import Visitor, allowed, check_csrf, html, redirect
from api.web.one_call import PageRouter
from api.web.pages import Person, render_for
from config.settings import Settings
from custody.admin import acts
from vault import accounts
from vault.errors import AccessDenied, VaultError
from vault.models import Role

router = PageRouter(include_in_schema=False)
Context = Annotated[AppContext, Depends(app_context)]
Csrf = Annotated[str, Form(max_length=100)]
Roles = Annotated[list[str], Form(max_length=len(Role))]
USER_PHRASES = {"user name": "username", "already exists": "username", "role": "roles",
                "separation of duties": "roles", "display": "display_name"}  # fmt: skip
TOKEN_PHRASES = {"days": "days", "label": "label"}
MASK = "••••••"


def _actor(who: Visitor) -> str:
    return f"user:{who.user.username}"


def _people(who: Visitor, session: SessionDep, *, form: dict[str, Any] | None = None,
            errors: dict[str, str] | None = None, shown: tuple[str, str] | None = None,
            status: int = 200) -> Response:  # fmt: skip
    body = render_for(who, "people.html", people=accounts.list_users(session),
                      roles=[r.value for r in Role], form=form or {}, errors=errors or {},
                      whole=WHOLE_FORM, shown=shown)  # fmt: skip
    return html(body, status=status)


@router.get("/people")
def people(who: Person, session: SessionDep) -> Response:
    allowed(who, Role.ADMIN)
    return _people(who, session)


@router.post("/people")
def person_add(
    request: Request, who: Person, session: SessionDep, context: Context, *, csrf: Csrf = "",
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=400)] = "",
    roles: Roles = [],  # noqa: B006 - FastAPI copies a form default
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.ADMIN)
    form = {"username": username, "display_name": display_name, "roles": roles}
    try:
        body = parsed(UserIn, form)
        try:
            acts.add_user(session, actor=_actor(who), username=body.username,
                          roles=[r.value for r in body.roles], display_name=body.display_name,
                          admin_may_approve=context.settings.admin_may_approve)  # fmt: skip
            password = acts.reset_password(session, actor=_actor(who), username=body.username)
        except VaultError as exc:
            raise refusal(exc, USER_PHRASES) from None
    except FormErrors as exc:
        return _people(who, session, form=form, errors=exc.errors, status=422)
    return _people(who, session, shown=(body.username, password))


@router.post("/people/{username}/roles")
def person_roles(
    request: Request, who: Person, session: SessionDep, context: Context, username: str, *,
    csrf: Csrf = "", roles: Roles = [],  # noqa: B006 - FastAPI copies a form default
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.ADMIN)
    person = accounts.find_user(session, username)
    try:
        wanted = set(accounts.parse_roles(roles))
        held = set(person.roles)
        acts.change_roles(session, actor=_actor(who), username=username,
                          grant=sorted(wanted - held), remove=sorted(held - wanted),
                          admin_may_approve=context.settings.admin_may_approve)  # fmt: skip
    except VaultError as exc:
        return _people(who, session, errors={f"roles-{username}": str(exc)}, status=422)
    return redirect("/people")


@router.post("/people/{username}/disable")
def person_disable(
    request: Request, who: Person, session: SessionDep, username: str, csrf: Csrf = ""
) -> Response:
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.ADMIN)
    try:
        acts.disable_user(session, actor=_actor(who), username=username)
    except VaultError as exc:
        return _people(who, session, errors={f"roles-{username}": str(exc)}, status=409)
    return redirect("/people")


@router.post("/people/{username}/password")
def person_password(
    request: Request, who: Person, session: SessionDep, username: str, csrf: Csrf = ""
) -> Response:
    check_csrf(request, who.web.csrf, csrf)
    allowed(who, Role.ADMIN)
    try:
        password = acts.reset_password(session, actor=_actor(who), username=username)
    except VaultError as exc:
        return _people(who, session, errors={f"roles-{username}": str(exc)}, status=409)
    return _people(who, session, shown=(username, password))


def _tokens(who: Visitor, session: SessionDep, *, form: dict[str, Any] | None = None,
            errors: dict[str, str] | None = None, issued: str | None = None,
            status: int = 200) -> Response:  # fmt: skip
    everyone = who.user.has_any(frozenset({Role.ADMIN}))
    tokens = accounts.list_tokens(session, None if everyone else who.user)
    body = render_for(who, "tokens.html", tokens=tokens, form=form or {}, errors=errors or {},
                      whole=WHOLE_FORM, issued=issued)  # fmt: skip
    return html(body, status=status)


@router.get("/api-tokens")
def tokens(who: Person, session: SessionDep) -> Response:
    return _tokens(who, session)


@router.post("/api-tokens")
def token_issue(
    request: Request, who: Person, session: SessionDep, *, csrf: Csrf = "",
    label: Annotated[str, Form(max_length=400)] = "",
    days: Annotated[str, Form(max_length=10)] = "90",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    form = {"label": label, "days": days}
    try:
        body = parsed(TokenIn, form)
        try:
            issued = acts.issue_own_token(session, holder=who.user, username=who.user.username,
                                          label=body.label, days=body.days)  # fmt: skip
        except VaultError as exc:
            raise refusal(exc, TOKEN_PHRASES) from None
    except FormErrors as exc:
        return _tokens(who, session, form=form, errors=exc.errors, status=422)
    return _tokens(who, session, issued=issued.secret)


@router.post("/api-tokens/{prefix}/revoke")
def token_revoke(
    request: Request, who: Person, session: SessionDep, prefix: str, csrf: Csrf = ""
) -> Response:
    check_csrf(request, who.web.csrf, csrf)
    mine = {t.prefix for t in accounts.list_tokens(session, who.user)}
    if prefix not in mine and not who.user.has_any(frozenset({Role.ADMIN})):
        raise AccessDenied("only its holder or an admin revokes a token")
    acts.revoke_token(session, actor=_actor(who), prefix=prefix)
    return redirect("/api-tokens")


@router.get("/settings")
def settings_page(who: Person, context: Context) -> Response:
    allowed(who, Role.ADMIN)
    return html(render_for(who, "settings.html", settings=in_force(context.settings)))


def in_force(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as name and value, secrets masked: SecretStr values, the password in any
    address (the database's too), and the alert webhook's path."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value: object) -> None:
        if hasattr(value, "model_dump"):  # a table of its own ([oidc], a store, a station)
            value = value.model_dump()
        if isinstance(value, SecretStr):
            rows.append((prefix, MASK))
        elif isinstance(value, str) and prefix.endswith("_url") and prefix != "database_url":
            rows.append((prefix, masked_address(value, whole=prefix == "alert_webhook_url")))
        elif isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner)
        elif isinstance(value, list) and any(hasattr(v, "model_dump") for v in value):
            for index, inner in enumerate(value):
                walk(f"{prefix}[{index}]", inner)
        else:
            rows.append((prefix, "—" if value is None else str(value)))

    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if name == "database_url" and value:
            value = make_url(value).render_as_string(hide_password=True)
        walk(name, value)
    return rows


def masked_address(url: str, *, whole: bool) -> str:
    """A URL without its password; with ``whole``, without its path and query too (a webhook's
    path is its secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"{parts.username}:{MASK}@" if parts.password else "") + host
    netloc += f":{parts.port}" if parts.port else ""
    if whole and (parts.path.strip("/") or parts.query):
        return f"{parts.scheme}://{netloc}/{MASK}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
