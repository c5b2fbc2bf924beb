"""Errors as RFC 9457 problem+json; each vault error class's status comes from api.error_table."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.error_table import outcome_of
from vault.errors import VaultError

UNPARSEABLE_BODY = "There was an error parsing the body"  # fastapi.routing's HTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://evidence-vault.example/problems/"

PROBLEM_SCHEMA: dict[str, Any] = {
    "content": {
        PROBLEM_JSON: {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": {
                "type": TYPE_BASE + "not-found",
                "title": "Not Found",
                "status": 404,
                "detail": "no item matches '3f2a9c'",
                "instance": "/items/3f2a9c",
            },
        }
    }
}


def problem(request: Request, status: int, kind: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": TYPE_BASE + kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: VaultError) -> tuple[int, str]:
    """The HTTP status and problem type of a vault error (api.error_table)."""
    row = outcome_of(exc)
    return row.status, row.problem


def validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """One line naming each refused parameter and why, and the same as a list."""
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors), errors


def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    detail, errors = validation_detail(exc)
    return problem(request, 422, "invalid-request", detail, errors=errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(VaultError)
    async def vault_error(request: Request, exc: VaultError) -> JSONResponse:
        status, kind = status_of(exc)
        return problem(request, status, kind, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_request(request, exc)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold (a NUL character in text on PostgreSQL, a number
        # out of range): the client's input, not a server fault. The transaction rolled back.
        return problem(
            request, 422, "invalid-value", "a value in the request cannot be stored or searched"
        )

    @app.exception_handler(StatementError)
    async def unbindable(request: Request, exc: StatementError) -> JSONResponse:
        # A value refused before it reached the database: a time without a UTC offset, or
        # one that cannot be expressed in UTC (year 1 at +14:00). Anything else is ours.
        if isinstance(exc.orig, OverflowError | ValueError):
            return problem(
                request, 422, "invalid-value",
                f"a value in the request cannot be stored or searched: {exc.orig}",
            )  # fmt: skip
        log.error("statement failed", exc_info=exc)
        return problem(request, 500, "internal", "internal error; the vault's log has details")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == UNPARSEABLE_BODY:
            # FastAPI's answer to a body that is not UTF-8: the same 422 as any other body
            # that is not JSON, which every operation documents.
            return problem(request, 422, "invalid-request", "the body is not UTF-8 JSON")
        answer = problem(request, exc.status_code, "http", str(exc.detail))
        # Starlette's own headers (a 405's Allow) are part of the answer; RFC 9110 requires it.
        for name, value in (exc.headers or {}).items():
            answer.headers[name] = value
        return answer

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never the exception text: it can carry paths, SQL or credentials.
        return problem(request, 500, "internal", "internal error; the vault's log has details")
