"""How the console answers a refusal: a page in the person's language with the same precise
message the API gives (one mapping, api.error_table), and a missing or expired session sends
the person to the sign-in page."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from api.http.problems import invalid_request, problem, status_of, validation_detail
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
        return _error_page(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # A malformed query parameter typed into a page's address (page=0): the same words
        # the API's problem gives, on a page.
        if not is_console(request):
            return invalid_request(request, exc)
        return _error_page(request, 422, validation_detail(exc)[0])


def _error_page(request: Request, status: int, detail: str) -> Response:
    zone = request.app.state.context.settings.display_timezone
    language = getattr(request.state, "language", DEFAULT)
    body = page("error.html", language=language, zone=zone, me=None, csrf="",
                title=f"{status} {HTTPStatus(status).phrase}", detail=detail)  # fmt: skip
    return html(body, status=status)
