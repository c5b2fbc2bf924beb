"""The HTTP API over httpx against the ASGI app, on SQLite and PostgreSQL.

The role matrix tries every route with every role and with no token; its table is kept here,
apart from the code, and a route missing from it fails the test."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from tests.api.conftest import Api
from vault import accounts
from vault.db import unit_of_work, utcnow
from vault.models import ApiToken

READERS = {"custodian", "investigator", "approver", "auditor"}
WORKFLOW = {"appraiser", "principal", "executor", "supervisor"}
EVERYONE = READERS | {"admin"} | WORKFLOW
OVERSEERS = {"custodian", "auditor", "approver", "admin"} | WORKFLOW
ADMIN = {"admin"}
AUDITORS = {"auditor", "custodian"}

# (method, path as the app declares it) -> roles that may call it
ROLE_MATRIX: dict[tuple[str, str], set[str]] = {
    ("GET", "/health"): EVERYONE,
    ("GET", "/ready"): EVERYONE,
    ("GET", "/metrics"): {"custodian", "auditor", "admin"},
    ("GET", "/sla"): {"custodian", "auditor", "admin"},
    ("GET", "/sla/compliance/{month}"): {"custodian", "auditor", "admin"},
    ("GET", "/alerts"): {"custodian", "auditor", "admin"},
    ("POST", "/alerts/{alert}/acknowledge"): {"custodian", "admin"},
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/items"): READERS,
    ("GET", "/items/{ref}"): READERS,
    ("GET", "/items/{ref}/custody"): READERS,
    ("GET", "/items/{ref}/copies"): READERS,
    ("GET", "/stations"): READERS,
    ("GET", "/devices"): READERS,
    ("GET", "/gaps"): READERS,
    ("POST", "/gaps/explanations"): {"custodian", "investigator"},
    ("POST", "/cases"): {"custodian", "investigator"},
    ("GET", "/cases"): READERS,
    ("GET", "/cases/{number}"): READERS,
    ("POST", "/cases/{number}/items"): {"custodian", "investigator"},
    ("POST", "/requests"): {"investigator"},
    ("GET", "/requests"): {"investigator", "approver", "auditor", "custodian"},
    ("GET", "/requests/{ref}"): {"investigator", "approver", "auditor", "custodian"},
    ("POST", "/requests/{ref}/approve"): {"approver"},
    ("POST", "/requests/{ref}/refuse"): {"approver"},
    ("GET", "/requests/{ref}/items/{item}/content"): {"investigator"},
    ("POST", "/requests/{ref}/export"): {"investigator"},
    ("GET", "/users"): ADMIN,
    ("POST", "/users"): ADMIN,
    ("POST", "/users/{username}/roles"): ADMIN,
    ("POST", "/users/{username}/disable"): ADMIN,
    # Only the holder issues a token ({username} is another user here): nobody, not an admin.
    ("POST", "/users/{username}/tokens"): set(),
    ("POST", "/tokens/{prefix}/revoke"): ADMIN,
    ("GET", "/checkpoints"): AUDITORS,
    ("GET", "/checkpoints/latest"): AUDITORS,
    ("GET", "/keys"): AUDITORS,
    ("GET", "/proofs/inclusion"): AUDITORS,
    ("GET", "/proofs/consistency"): AUDITORS,
    ("GET", "/items/{ref}/proofs"): AUDITORS,
    ("GET", "/fixity"): AUDITORS,
    ("GET", "/retention/policy"): OVERSEERS,
    ("PUT", "/retention/policy"): ADMIN,
    ("GET", "/retention/due"): OVERSEERS,
    ("GET", "/items/{ref}/retention"): OVERSEERS | {"investigator"},
    ("POST", "/items/{ref}/categories"): {"custodian"},
    ("POST", "/items/{ref}/virus-release"): {"approver"},
    ("POST", "/items/{ref}/holds"): {"approver"},
    ("GET", "/holds"): OVERSEERS,
    ("POST", "/holds/{hold}/release"): {"approver"},
    ("POST", "/cases/{number}/close"): {"custodian"},
    ("POST", "/cases/{number}/flags"): {"custodian"},
    ("POST", "/appraisals"): {"appraiser"},
    ("GET", "/appraisals"): OVERSEERS,
    ("GET", "/appraisals/{number}"): OVERSEERS,
    ("POST", "/appraisals/{number}/approve"): {"principal"},
    ("POST", "/appraisals/{number}/refuse"): {"principal"},
    ("POST", "/appraisals/{number}/supervise"): {"supervisor"},
    ("POST", "/appraisals/{number}/execute"): {"executor"},
    ("GET", "/appraisals/{number}/register"): OVERSEERS,
}
QUERIES = {"/proofs/inclusion": "?seq=1", "/proofs/consistency": "?old=1&new=2"}


def approved_request(api: Api, *, purpose: str) -> str:
    """A request of the investigator's, approved by the approver."""
    body = {"items": [api.vault.items()[0].digest[:12]], "purpose": purpose,
            "reason": "matrix", "organisation": "court"}  # fmt: skip
    asked = api.client.post("/requests", json=body, headers=api.as_role("investigator"))
    number = str(asked.json()["number"])
    decided = api.client.post(
        f"/requests/{number}/approve", json={"reason": "ok"}, headers=api.as_role("approver")
    )
    assert decided.status_code == 200, decided.text
    return number


def sample_request(api: Api, method: str, path: str) -> tuple[str, dict[str, object] | None]:
    item = api.vault.items()[0]
    ref = api.request_number if path.startswith("/requests/") else item.digest[:12]
    if path == "/requests/{ref}/export":  # needs an approved request of purpose export
        ref = approved_request(api, purpose="export")
    filled = (
        path.replace("{ref}", ref)
        .replace("{item}", item.digest[:12])
        .replace("{username}", "target")
        .replace("{number}", "2026-117")
        .replace("{prefix}", "evt_nothing")
        .replace("{hold}", "00000000-0000-4000-8000-000000000000")
        .replace("{month}", "2026-11")
        .replace("{alert}", "00000000-0000-4000-8000-000000000000")
    )
    bodies: dict[str, dict[str, object]] = {
        "/users": {"username": "new-user", "roles": ["auditor"]},
        "/users/{username}/tokens": {"label": "matrix", "days": 1},
        "/users/{username}/roles": {"grant": ["auditor"]},
        "/requests": {"items": [item.digest[:12]], "purpose": "view", "reason": "matrix"},
        "/cases": {"number": "matrix-case", "flags": ["major"]},
        "/cases/{number}/items": {"items": [item.digest[:12]]},
        "/requests/{ref}/approve": {"reason": "matrix"},
        "/requests/{ref}/refuse": {"reason": "matrix"},
        "/retention/policy": {"reason": "matrix", "unattached_years": 30},
        "/items/{ref}/categories": {"categories": ["traffic"]},
        "/items/{ref}/virus-release": {"reason": "matrix"},
        "/gaps/explanations": {"before": item.digest[:12], "after": item.digest[:12],
                               "cause": "weather"},
        "/items/{ref}/holds": {"reason": "matrix", "reference": "order 1"},
        "/holds/{hold}/release": {"reason": "matrix"},
        "/cases/{number}/flags": {"flags": ["complaint"]},
        "/appraisals": {"decisions": [{"item": item.digest[:12], "decision": "destroy",
                                       "reason": "matrix"}]},
        "/appraisals/{number}/approve": {"note": "matrix"},
        "/appraisals/{number}/refuse": {"note": "matrix"},
        "/alerts/{alert}/acknowledge": {"reason": "matrix"},
    }  # fmt: skip
    body = bodies.get(path) if method in ("POST", "PUT") else None
    return filled + QUERIES.get(path, ""), body


def declared_routes(routes: list[Any]) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, including routes of included routers."""
    found = set()
    for route in routes:
        nested = getattr(route, "original_router", None) or getattr(route, "router", None)
        if nested is not None and hasattr(nested, "routes"):
            found |= declared_routes(nested.routes)
            continue
        for method in (getattr(route, "methods", None) or set()) - {"HEAD"}:
            found.add((method, route.path))
    return found


# The web console's routes, and what a visitor without a session gets from each: pages send
# them to sign in, forms are refused before they are read (the sign-in form alone is open,
# and refused without its CSRF token). The pages' roles are tested in tests/web.
CONSOLE_ANONYMOUS: dict[tuple[str, str], int] = {
    ("GET", "/signin"): 200, ("POST", "/signin"): 403, ("POST", "/signout"): 401,
    # Single sign-on, on a vault without [oidc]: not there (tests/web/test_oidc_console.py).
    ("GET", "/signin/oidc"): 404, ("GET", "/signin/oidc/callback"): 404,
    ("GET", "/custody-checkpoints"): 303, ("GET", "/recordings/{ref}/proofs.json"): 303,
    ("POST", "/language"): 401, ("GET", "/"): 303, ("GET", "/recordings"): 303,
    ("GET", "/recordings/{ref}"): 303,
    ("GET", "/access"): 303, ("GET", "/access/new"): 303, ("POST", "/access/new"): 401,
    ("GET", "/access/{ref}"): 303, ("POST", "/access/{ref}/decision"): 401,
    ("GET", "/access/{ref}/play/{item}"): 303,
    ("GET", "/access/{ref}/items/{item}/content"): 303, ("POST", "/access/{ref}/export"): 401,
    ("GET", "/case-files"): 303, ("POST", "/case-files"): 401,
    ("GET", "/case-files/{number}"): 303, ("POST", "/case-files/{number}/items"): 401,
    ("POST", "/case-files/{number}/close"): 401, ("POST", "/case-files/{number}/flags"): 401,
    ("GET", "/recording-gaps"): 303, ("POST", "/recording-gaps"): 401,
    ("GET", "/flagged-recordings"): 303, ("POST", "/flagged-recordings/{ref}/release"): 401,
    ("GET", "/sign-ins"): 303,
    ("GET", "/people"): 303, ("POST", "/people"): 401, ("POST", "/people/{username}/roles"): 401,
    ("POST", "/people/{username}/disable"): 401, ("POST", "/people/{username}/password"): 401,
    ("GET", "/api-tokens"): 303, ("POST", "/api-tokens"): 401,
    ("POST", "/api-tokens/{prefix}/revoke"): 401, ("GET", "/settings"): 303,
    ("GET", "/retention-due"): 303, ("POST", "/retention-due"): 401,
    ("GET", "/destruction-batches/{number}"): 303,
    ("POST", "/destruction-batches/{number}/decision"): 401,
    ("POST", "/destruction-batches/{number}/supervise"): 401,
    ("POST", "/destruction-batches/{number}/execute"): 401,
    ("GET", "/destruction-batches/{number}/register"): 303,
    ("GET", "/audit-runs"): 303, ("POST", "/audit-runs"): 401, ("GET", "/audit-runs/{run_id}"): 303,
    ("GET", "/audit-runs/{run_id}/report.pdf"): 303,
    ("GET", "/legal-holds"): 303, ("POST", "/legal-holds"): 401,
    ("POST", "/legal-holds/{hold}/release"): 401,
    ("GET", "/retention-policy"): 303, ("POST", "/retention-policy"): 401,
    ("GET", "/compliance"): 303, ("GET", "/compliance/{month}/file"): 303,
    ("GET", "/fixity-status"): 303, ("GET", "/doctor"): 303,
    ("GET", "/custody-checkpoints/witness.json"): 303,
    ("POST", "/acknowledged-alerts/{ref}"): 401,
}  # fmt: skip


def test_every_route_is_in_the_role_matrix(api: Api) -> None:
    routes = declared_routes(api.client.app.routes)  # type: ignore[attr-defined]
    assert routes == set(ROLE_MATRIX) | set(CONSOLE_ANONYMOUS)
    # A console page never takes an API route's method and path: the first router included
    # would answer, and the other would silently be gone.
    listed = [(r.methods, r.path) for r in api.client.app.routes if hasattr(r, "methods")]  # type: ignore[attr-defined]
    pairs = [(m, path) for methods, path in listed for m in methods]
    assert len(pairs) == len(set(pairs)), sorted(p for p in pairs if pairs.count(p) > 1)


@pytest.mark.parametrize(("method", "path"), sorted(CONSOLE_ANONYMOUS))
def test_console_routes_without_a_session(api: Api, method: str, path: str) -> None:
    url = path.replace("{ref}", "0").replace("{item}", "0").replace("{number}", "0")
    url = (
        url.replace("{username}", "x")
        .replace("{prefix}", "0")
        .replace("{run_id}", "1")
        .replace("{hold}", "00000000-0000-0000-0000-000000000000")
    )
    answer = api.client.request(method, url, data={"username": "x", "password": "y"},
                                follow_redirects=False)  # fmt: skip
    assert answer.status_code == CONSOLE_ANONYMOUS[(method, path)], answer.text
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/signin?next=")


@pytest.mark.parametrize(("method", "path"), sorted(ROLE_MATRIX))
def test_role_matrix(api: Api, method: str, path: str) -> None:
    url, body = sample_request(api, method, path)
    anonymous = api.client.request(method, url, json=body)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    for role in sorted(EVERYONE):
        answer = api.client.request(method, url, json=body, headers=api.as_role(role))
        if role in ROLE_MATRIX[(method, path)]:
            assert answer.status_code not in (401, 403), (role, answer.text)
            assert answer.status_code < 500, (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.json()["type"].endswith("/access-denied")


def test_items_and_custody_timeline(api: Api) -> None:
    headers = api.as_role("investigator")
    listed = api.client.get("/items", params={"device": "CAM1"}, headers=headers).json()
    assert [i["original_name"] for i in listed] == ["CAM1_P1001_20261124T093000.mp4"]
    assert listed[0]["officer"] == "P1001" and listed[0]["media_status"] == "probed"
    assert api.client.get("/items", params={"officer": "nobody"}, headers=headers).json() == []
    one = api.client.get(f"/items/{listed[0]['digest'][:10]}", headers=headers).json()
    assert one == listed[0]
    chain = api.client.get(f"/items/{one['id']}/custody", headers=headers).json()
    assert [e["kind"] for e in chain] == [
        "ingested",
        "sealed",
        "access_copy_stored",
        "retention_set",
        "access_requested",  # the fixture's request, and its approval
        "access_approved",
    ]
    assert chain[0]["prev_hash"] == "00" * 32
    assert all(b["prev_hash"] == a["entry_hash"] for a, b in itertools.pairwise(chain))


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "kind"),
    [
        ("GET", "/items/ffffffffffff", None, 404, "not-found"),
        ("GET", "/items", {"limit": "x"}, 200, None),  # a body on GET is ignored
        ("GET", "/items?limit=0", None, 422, "invalid-request"),
        ("GET", "/items?since=yesterday", None, 422, "input-rejected"),
        ("POST", "/users", {"username": "x"}, 422, "invalid-request"),
        ("POST", "/users", {"username": "a", "roles": ["boss"]}, 422, "invalid-request"),
        ("POST", "/users", {"username": "target", "roles": ["auditor"]}, 409, "conflict"),
        ("POST", "/users/target/tokens", {"days": 400}, 422, "invalid-request"),
        ("POST", "/users/nobody/tokens", {}, 403, "access-denied"),
        ("POST", "/tokens/evt_nothing/revoke", None, 404, "not-found"),
        (
            "POST",
            "/users",
            {"username": "n", "roles": ["auditor"], "display_name": "a\x00"},
            422,
            "invalid-request",
        ),
    ],
)
def test_bad_requests_get_precise_problems(
    api: Api, method: str, url: str, body: object, status: int, kind: str | None
) -> None:
    headers = api.as_role("admin") if method == "POST" else api.as_role("auditor")
    answer = api.client.request(method, url, json=body, headers=headers)
    assert answer.status_code == status, answer.text
    if kind is not None:
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["type"].endswith("/" + kind) and problem["status"] == status
        assert problem["detail"] and problem["instance"] == url.split("?", maxsplit=1)[0]


def set_token(api: Api, role: str, **values: object) -> None:
    secret = api.tokens[role]
    with unit_of_work(api.vault.app.factory) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == accounts.token_hash(secret))
            .values(**values)
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"expires_at": utcnow() - timedelta(seconds=1)}, "token has expired"),
        ({"revoked_at": utcnow()}, "token was revoked"),
    ],
)
def test_expired_or_revoked_token_is_refused(
    api: Api, change: dict[str, object], reason: str
) -> None:
    set_token(api, "auditor", **change)
    answer = api.client.get("/items", headers=api.as_role("auditor"))
    assert answer.status_code == 401
    assert answer.json()["detail"] == reason


def test_tokens_issued_and_revoked_over_the_api(api: Api) -> None:
    admin = api.as_role("admin")
    issued = api.client.post(
        "/users/only-investigator/tokens", json={"label": "t"}, headers=api.as_role("investigator")
    ).json()
    assert issued["token"].startswith(issued["prefix"])
    mine = {"Authorization": f"Bearer {issued['token']}"}
    assert api.client.get("/items", headers=mine).status_code == 200
    revoked = api.client.post(f"/tokens/{issued['prefix']}/revoke", headers=admin).json()
    assert revoked["token"] is None  # never shown again
    assert api.client.get("/items", headers=mine).status_code == 401
    api.client.post("/users/only-auditor/disable", headers=admin)
    refused = api.client.get("/items", headers=api.as_role("auditor"))
    assert refused.status_code == 401 and refused.json()["detail"] == "user is disabled"


def test_openapi_has_examples_and_problem_schema(api: Api) -> None:
    spec = api.client.get("/openapi.json", headers=api.as_role("auditor")).json()
    assert "Problem" in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ItemOut"]["examples"]
    item_404 = spec["paths"]["/items/{ref}"]["get"]["responses"]["404"]
    assert "application/problem+json" in item_404["content"]


def test_a_read_request_cannot_write_and_does_not_block_writers(api: Api) -> None:
    """GET units of work are read-only: PostgreSQL itself refuses a write in one; on SQLite
    one does not take the write lock, so a writer commits while it is open."""
    with unit_of_work(api.vault.app.factory, read_only=True) as session:
        session.execute(text("SELECT count(*) FROM app_user")).scalar_one()
        if session.get_bind().dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="read-only"):
                session.execute(text("UPDATE app_user SET display_name = 'x'"))
            session.rollback()
            return
        writer = sqlite3.connect(api.vault.settings.database.split("///", 1)[1], timeout=0.5)
        try:
            writer.execute("UPDATE app_user SET display_name = 'written meanwhile'")
            writer.commit()  # would fail with "database is locked" behind an IMMEDIATE reader
        finally:
            writer.close()


def test_cases_link_items_on_the_custody_record(api: Api) -> None:
    inv, item = api.as_role("investigator"), api.vault.items()[0]
    made = api.client.post(
        "/cases", json={"number": "2026-200", "flags": ["litigation"]}, headers=inv
    )
    assert made.status_code == 201 and made.json()["flags"] == ["litigation"]
    linked = api.client.post(
        "/cases/2026-200/items", json={"items": [item.digest[:12]]}, headers=inv
    )
    assert linked.json()["items"] == [str(item.id)]
    assert api.client.get(f"/items/{item.id}", headers=inv).json()["case"] == "2026-200"
    chain = api.client.get(f"/items/{item.id}/custody", headers=inv).json()
    # Linked, then (as at the terminal) the case's retention: litigation keeps it for ever.
    assert chain[-2]["kind"] == "case_linked" and chain[-2]["data"]["case"] == "2026-200"
    assert chain[-1]["kind"] == "retention_extended"
    api.client.post("/cases", json={"number": "2026-201"}, headers=inv)
    moved = api.client.post("/cases/2026-201/items", json={"items": [str(item.id)]}, headers=inv)
    assert moved.status_code == 409 and "another case" in moved.json()["detail"]
    asked = api.client.post(
        "/requests", json={"case": "2026-200", "purpose": "view", "reason": "r"}, headers=inv
    )
    assert asked.status_code == 201 and asked.json()["items"] == [str(item.id)]
    assert api.client.post("/cases", json={"number": "2026-200"}, headers=inv).status_code == 409
    bad_flag = api.client.post("/cases", json={"number": "x", "flags": ["vip"]}, headers=inv)
    assert bad_flag.status_code == 422


@pytest.mark.parametrize("url", ["/items/ab%00cdef", "/items?officer=P%00", "/cases/2026%00"])
def test_nul_in_a_path_or_query_is_a_client_error(api: Api, url: str) -> None:
    """PostgreSQL cannot search text for a NUL; found by schemathesis as a 500."""
    answer = api.client.get(url, headers=api.as_role("auditor"))
    assert answer.status_code in {200, 404, 422}, answer.text
    if answer.status_code != 200:
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "since",
    [
        "0001-01-01T00:00:00%2B14:00",  # before year 1 in UTC: no such datetime
        "9999-12-31T23:00:00-14:00",  # after year 9999 in UTC
    ],
)
def test_a_time_the_vault_cannot_use_is_a_client_error(api: Api, since: str) -> None:
    """Found by schemathesis: such a time reached the UTC column and answered 500."""
    answer = api.client.get(f"/items?since={since}", headers=api.as_role("auditor"))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/invalid-value")


def test_times_need_a_zone_and_dates_are_days_in_the_display_zone(api: Api) -> None:
    auditor = api.as_role("auditor")
    naive = api.client.get("/items?since=2026-12-02T00:00:00", headers=auditor)
    assert naive.status_code == 422 and "has no time zone" in naive.json()["detail"]
    for since in ("2026-11-01", "2026-11-01T00:00:00Z", "2026-11-01T08:00:00%2B08:00"):
        answer = api.client.get(f"/items?since={since}", headers=auditor)
        assert answer.status_code == 200, (since, answer.text)
        assert len(answer.json()) == 1  # the fixture's recording, made on 2026-11-24
    later = api.client.get("/items?since=2026-11-25", headers=auditor)
    assert later.status_code == 200 and later.json() == []


def test_every_operation_documents_its_problems(api: Api) -> None:
    spec = api.client.get("/openapi.json", headers=api.as_role("auditor")).json()
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert len(operations) >= 40
    ids = [op["operationId"] for op in operations]
    assert len(set(ids)) == len(ids) and all(op["summary"] for op in operations)
    for op in operations:
        for status in ("401", "403", "413", "422"):
            assert status in op["responses"], (op["operationId"], status)
        for status, response in op["responses"].items():
            if status.startswith("4"):
                assert list(response["content"]) == ["application/problem+json"], (
                    op["operationId"], status,
                )  # fmt: skip
