"""The JSON API's routers are tried before the console's (api.http.app.API_ROUTERS: the hot
reads are matched without first trying every page's route). That order is safe only while no
request path can be matched by a route of both sides; this holds it."""

from __future__ import annotations

import re

import pytest
from starlette.routing import BaseRoute, Match, Route

from api.http.app import API_ROUTERS
from api.web.console import ROUTERS as CONSOLE_ROUTERS

# Path parameters filled in with values of each shape the routes take: a word, a number, an
# id, a console-style reference.
FILLINGS = ["x1y2z3", "12", "new", "0024d533-9917-4aea-bb2b-e0a8bf2f2bd6", "EV-2026-0001"]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def routes_of(routers: tuple[object, ...]) -> list[Route]:
    found: list[BaseRoute] = [r for router in routers for r in router.routes]  # type: ignore[attr-defined]
    return [r for r in found if isinstance(r, Route)]


API, CONSOLE = routes_of(API_ROUTERS), routes_of(CONSOLE_ROUTERS)


def test_both_sides_have_routes() -> None:
    assert len(API) > 40 and len(CONSOLE) > 40
    assert any(r.path == "/items/{ref}/custody" for r in API)
    assert any(r.path == "/recordings/{ref}" for r in CONSOLE)


@pytest.mark.parametrize(("side", "other"), [("api", "console"), ("console", "api")])
def test_no_path_of_one_side_is_matched_by_the_other(side: str, other: str) -> None:
    mine, theirs = {"api": API, "console": CONSOLE}[side], {"api": API, "console": CONSOLE}[other]
    clashes = []
    for route in mine:
        for filling in FILLINGS:
            path = re.sub(r"\{[^}]+\}", filling, route.path)
            for method in METHODS:
                scope = {"type": "http", "path": path, "method": method, "root_path": ""}
                clashes += [(path, method, o.path) for o in theirs
                            if o.matches(scope)[0] is not Match.NONE]  # fmt: skip
    assert clashes == []
