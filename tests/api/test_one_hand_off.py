"""Each JSON API request hands its work to a worker thread once (issue 23): the unit of work,
the caller's authentication in it, the queries, the answer and the commit in one call
(api.http.work). FastAPI's own way, a sync route with a session and a role dependency, took
five, and a request with a body a sixth (the request gate's look-up of its token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest

from api.http.callers import TokenCache
from tests.api.conftest import Api
from tests.api.test_http import ROLE_MATRIX, sample_request
from vault import accounts
from vault.db import unit_of_work

# Their bytes are read on a worker thread chunk by chunk, so that a slow disk or store never
# stalls the event loop: a hand-off per chunk, on top of the one for the request's work.
STREAMED = {
    ("GET", "/requests/{ref}/items/{item}/content"),
    ("POST", "/requests/{ref}/export"),
    ("GET", "/appraisals/{number}/register"),
}


@pytest.fixture(autouse=True)
def remembered_all_test(api: Api) -> None:
    """Tokens remembered for the whole test, not a second: what these tests count must not
    depend on whether a remembered entry happened to expire between two requests on a busy
    machine (CI once saw a second hand-off when one expired between /health and the route).
    The role test thereby proves that a role granted or taken away counts at once without
    waiting for an entry to expire."""
    api.client.app.state.token_cache = TokenCache(ttl=3600.0)  # type: ignore[attr-defined]


def counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times anything is handed to a worker thread (FastAPI's sync routes and
    dependencies, Starlette's run_in_threadpool and the vault's own calls all go through
    anyio.to_thread.run_sync)."""
    handed = [0]
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        handed[0] += 1
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return handed


def test_every_route_hands_its_work_to_a_thread_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = sorted(set(ROLE_MATRIX) - STREAMED - {("GET", "/health")})
    handed = counting(monkeypatch)
    counts: dict[tuple[str, str], int] = {}
    for method, path in routes:
        role = min(ROLE_MATRIX[(method, path)], default="auditor")
        url, body = sample_request(api, method, path)
        if path == "/users/{username}/tokens":  # one's own, which any role may issue
            url = url.replace("/target/", f"/only-{role}/")
        headers = api.as_role(role)
        api.client.get("/health", headers=headers)  # the token remembered, as under load
        handed[0] = 0
        answer = api.client.request(method, url, json=body, headers=headers)
        assert answer.status_code not in (401, 403) and answer.status_code < 500, answer.text
        counts[(method, path)] = handed[0]
    assert counts == dict.fromkeys(routes, 1)


def test_health_answers_on_the_event_loop_and_a_new_token_costs_one_look_up(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/health, token and alerts fresh: no thread at all. A token not yet remembered costs
    one more hand-off (its look-up, once a second) before the request's own."""
    with unit_of_work(api.vault.app.factory) as session:
        accounts.add_user(session, username="newcomer", roles=["auditor"])
        secret = accounts.issue_token(session, username="newcomer").secret
    headers = {"Authorization": f"Bearer {secret}"}
    handed = counting(monkeypatch)
    assert api.client.get("/fixity", headers=headers).status_code == 200
    assert handed == [2]
    api.client.get("/health", headers=headers)  # counts the alerts, at most every 5 s
    handed[0] = 0
    assert api.client.get("/health", headers=headers).status_code == 200
    assert handed == [0]


def test_a_role_counts_from_the_moment_it_is_granted_or_taken_away(api: Api) -> None:
    """The caller's roles are remembered for a second, for the check made before the body is
    read; but a refusal is not remembered, and the route's own check is made afresh in its
    unit of work: neither a role just granted nor one just taken away waits for the cache."""
    with unit_of_work(api.vault.app.factory) as session:
        accounts.add_user(session, username="promoted", roles=["auditor"])
        secret = accounts.issue_token(session, username="promoted").secret
    headers = {"Authorization": f"Bearer {secret}"}
    case = {"number": "granted-case", "flags": []}
    assert api.client.get("/fixity", headers=headers).status_code == 200  # remembered
    assert api.client.post("/cases", json=case, headers=headers).status_code == 403

    with unit_of_work(api.vault.app.factory) as session:
        accounts.set_roles(session, "promoted", ["auditor", "investigator"])
    opened = api.client.post("/cases", json=case, headers=headers)
    assert opened.status_code == 201, opened.text  # remembered as an auditor only

    with unit_of_work(api.vault.app.factory) as session:
        accounts.set_roles(session, "promoted", ["investigator"])
    # Remembered a moment ago as an auditor: the unit's own check refuses.
    answer = api.client.get("/fixity", headers=headers)
    assert answer.status_code == 403, answer.text
