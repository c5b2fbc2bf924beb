"""Who is at the console, and the rules every page and form keeps: a live session (cookie),
the page's roles, a CSRF token on every form, a request from this origin, and headers that
forbid inline script and framing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.context import AppContext
from api.http.deps import SessionDep, app_context
from config.settings import Settings
from vault.db import unit_of_work, utcnow
from vault.errors import AccessDenied, NotAuthenticated
from vault.models import Role, User, WebSession
from vault.signin import COOKIE, Policy, current_session, touch, touch_due

SIGN_IN_COOKIE = "evault_signin"  # the sign-in form's CSRF token, before there is a session
HEADERS = {
    # No inline script or style, nothing from elsewhere, never in a frame.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self';"
        " connect-src 'self';"  # the in-browser proof check fetches its bundle
        " script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInNeeded(NotAuthenticated):
    """A page asked for without a live session: the person is sent to the sign-in page."""


def policy(settings: Settings) -> Policy:
    return Policy(
        idle=timedelta(minutes=settings.console_idle_minutes),
        absolute=timedelta(hours=settings.console_session_hours),
        lockout_after=settings.console_lockout_after,
        lockout=timedelta(minutes=settings.console_lockout_minutes),
    )


@dataclass(frozen=True)
class Visitor:
    user: User
    web: WebSession
    settings: Settings

    @property
    def language(self) -> str:
        from api.web.i18n import chosen  # noqa: PLC0415 - i18n loads Babel

        return chosen(self.user.language)


def visitor(
    request: Request, session: SessionDep, context: Annotated[AppContext, Depends(app_context)]
) -> Visitor:
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise SignInNeeded("not signed in")
    try:
        web = current_session(session, secret, policy=policy(context.settings))
    except NotAuthenticated as exc:
        raise SignInNeeded(str(exc)) from None
    if touch_due(web, utcnow()):
        if request.method in {"GET", "HEAD"}:
            # A page's GET reads in a read-only transaction (PostgreSQL refuses a write in it,
            # and on SQLite it must not hold the write lock while a delivery commits its
            # custody event): the last-seen time is written in a unit of its own.
            with unit_of_work(context.factory) as own:
                touch(own, web.id)
        else:  # a form's unit already holds the write lock: a second one would wait for it
            touch(session, web.id)
    found = Visitor(web.user, web, context.settings)
    # A refusal's page (api.web.errors) is written in the person's language: kept as text,
    # since the session that loaded the user may be gone by then.
    request.state.language = found.language
    return found


def allowed(who: Visitor, *roles: Role) -> Visitor:
    if not who.user.has_any(frozenset(roles)):
        names = ", ".join(sorted(r.value for r in roles))
        raise AccessDenied(f"this page needs one of the roles: {names}")
    return who


def same_origin(request: Request) -> None:
    """A form posted from another site is refused even before its token is looked at."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        raise AccessDenied(f"a form from another origin ({origin}) is refused")


def check_csrf(request: Request, expected: str, given: str | None) -> None:
    same_origin(request)
    if not given or not secrets.compare_digest(expected.encode(), given.encode()):
        raise AccessDenied("the form's security token is missing or wrong: reload the page")


def client_address(request: Request) -> str:
    """Where a sign-in came from, as the administration log records it."""
    return request.client.host if request.client else "unknown"


def secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def html(body: str, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(body, status_code=status)
    secure(response)
    return response


def redirect(to: str) -> RedirectResponse:
    response = RedirectResponse(to, status_code=303)
    secure(response)
    return response


def local_path(target: str | None, default: str = "/") -> str:
    """Only a path of this site: never an open redirect. Browsers drop tabs and line breaks
    from a URL, so "/\t/evil.example" would become "//evil.example": no whitespace or control
    character at all."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    return target
