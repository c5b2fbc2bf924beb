"""How the console answers a refusal: a page in the person's language with the same precise
message the API gives (one mapping, api.error_table), and a missing or expired session sends
the person to the sign-in page."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response

from api.http.problems import problem, status_of
from api.web.console import ROUTERS
from api.web.guard import SignInNeeded, html, redirect
from api.web.i18n import DEFAULT
from api.web.render import page
from vault.errors import VaultError

CONSOLE_ROUTES = frozenset(id(route) for router in ROUTERS for route in router.routes)


def is_console(request: Request) -> bool:
    return id(request.scope.get("route")) in CONSOLE_ROUTES


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        if not is_console(request):
            status, kind = status_of(exc)
            return problem(request, status, kind, str(exc))
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(f"/signin?next={quote(target, safe='')}")

    @app.exception_handler(VaultError)
    async def vault_error(request: Request, exc: VaultError) -> Response:
        status, kind = status_of(exc)
        if not is_console(request):
            return problem(request, status, kind, str(exc))
        zone = request.app.state.context.settings.display_timezone
        language = getattr(request.state, "language", DEFAULT)
        body = page("error.html", language=language, zone=zone, me=None, csrf="",
                    title=f"{status} {HTTPStatus(status).phrase}", detail=str(exc))  # fmt: skip
        return html(body, status=status)
