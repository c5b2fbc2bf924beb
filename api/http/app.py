"""The FastAPI application. Built from an AppContext at start-up, never at import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from api.context import AppContext, open_context
from api.http import problems
from api.http.deps import EVERYONE
from api.http.request_gate import RequestGate
from api.http.routes import (
    cases,
    exports,
    gaps,
    health,
    items,
    metrics,
    proofs,
    requests,
    retention,
    sla,
    users,
)
from api.http.schemas import Problem
from api.http.work import Work, work_for
from api.web import errors as web_errors
from api.web.console import ROUTERS as CONSOLE_ROUTERS
from api.web.oidc_client import Provider
from config.logging import configure_logging
from config.settings import load_settings
from vault.errors import InputRejected

DESCRIPTION = """
The evidence-vault HTTP API. Every route needs `Authorization: Bearer <token>` (issue one with
`evault token issue USER`) and one of the roles the route lists. Errors are
`application/problem+json` (RFC 9457). Bytes of a recording are only ever served through a
delivery route, which records a custody event before the first byte.
"""


STATIC = Path(__file__).parent.parent / "web" / "static"


async def refuse_nul_parameters(request: Request) -> None:
    """No NUL in a query or path parameter, as in bodies: PostgreSQL text cannot hold one, and
    the answer must not depend on the database (SQLite would search for it). async: a pure
    check, run on the event loop rather than a worker thread."""
    texts = [*request.query_params.keys(), *request.query_params.values()]
    texts += [str(value) for value in request.path_params.values()]
    if any("\x00" in text for text in texts):
        raise InputRejected("a parameter must not contain NUL characters")


# The JSON API's routers, the most requested first, and all of them before the console's:
# FastAPI tries the included routers in order, every route of each (about 8 us a router on
# this project's 2-core machine), and no path of one side matches a route of the other
# (tests/api/test_route_order.py), so the order changes what is matched by no request.
API_ROUTERS = (
    items.router,
    health.router,
    metrics.router,
    cases.router,
    requests.router,
    exports.router,
    gaps.router,
    sla.router,
    users.router,
    proofs.router,
    retention.router,
)


def create_app(context: AppContext) -> FastAPI:
    # No anonymous routes at all: the description, too, is served only with a token.
    app = FastAPI(
        dependencies=[Depends(refuse_nul_parameters)],
        title="evidence-vault",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    app.state.oidc = Provider(context.settings.oidc) if context.settings.oidc else None
    problems.install(app)
    app.add_middleware(RequestGate, context=lambda: context, limit=context.settings.max_body_bytes)
    web_errors.install(app)  # after the API's: the console answers its own routes with pages
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (*API_ROUTERS, *CONSOLE_ROUTERS):
        app.include_router(router)

    def openapi_schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                Problem.model_json_schema()
            )
            document_problems(schema)
            document_text_rules(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi_schema  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_route(work: Annotated[Work, Depends(work_for(*EVERYONE))]) -> dict[str, Any]:
        return await work(lambda _session, _user: openapi_schema())

    return app


# What any operation may answer besides its own outcomes: the request gate's and the
# authentication's refusals, and a body or parameter the schema refuses.
COMMON_PROBLEMS = {
    "401": "No valid bearer token.",
    "403": "The token's user lacks the role, or the rule forbids it.",
    "413": "The request body is over max_body_bytes.",
    "422": "A parameter or the body is not valid.",
}


def document_problems(schema: dict[str, Any]) -> None:
    """Every 4xx of every operation is application/problem+json (FastAPI's default 422 says
    application/json with its own schema, which the vault never sends), and every operation
    has an operationId and a summary."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_PROBLEMS.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status.startswith("4"):
                    response["content"] = problem
            operation.setdefault("summary", operation["operationId"].replace("_", " "))
    schema["components"]["schemas"].pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)


# What every body's text refuses, said in the description so that generated and hand-written
# clients know it: no NUL (PostgreSQL text cannot hold one), and a reason must say something.
NO_NUL = r"^[^\x00]*$"
# Python's whitespace (str.isspace, which the services strip) spelled out: regex dialects
# disagree on \s (ECMA 262's lacks U+001C to U+001F).
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SAYS_SOMETHING = rf"^[^\x00]*[^\x00{WHITESPACE}][^\x00]*$"


def document_text_rules(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    seen: set[str] = set()

    def visit(node: Any, name: str | None = None) -> None:
        if isinstance(node, list):
            for child in node:
                visit(child, name)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            target = ref.rsplit("/", 1)[1]
            if target not in seen:
                seen.add(target)
                visit(components[target])
            return
        if node.get("type") == "string" and not {"pattern", "enum", "format", "const"} & set(node):
            node["pattern"] = SAYS_SOMETHING if name == "reason" else NO_NUL
        if node.get("type") == "object" and node.get("additionalProperties") is not False:
            node["propertyNames"] = {"pattern": NO_NUL}  # the names of extra fields too
        for key, child in node.items():
            if key == "properties" and isinstance(child, dict):
                for property_name, property_schema in child.items():
                    visit(property_schema, property_name)
            elif key in ("items", "anyOf", "oneOf", "allOf"):
                visit(child, name)

    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("query", "path"):
                    visit(parameter.get("schema"), parameter.get("name"))
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                visit(media.get("schema"))


def app_from_settings() -> FastAPI:
    """The app of one API worker process (`evault serve --workers N`): settings from the
    environment and the settings file, as the parent process read them."""
    settings = load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return create_app(open_context(settings))
