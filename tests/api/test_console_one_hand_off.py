"""Each console page hands its work to a worker thread once (issue 23, api.web.one_call): the
unit of work, the session cookie's check, the page's queries and template, the commit. The
FastAPI way, a sync page with the unit and the visitor as dependencies, took four."""

from __future__ import annotations

import inspect
import re

import pytest
from fastapi.routing import APIRoute

from api.web.console import ROUTERS
from api.web.one_call import takes_a_unit
from custody.admin import acts
from tests.api.conftest import Api
from tests.api.test_one_hand_off import counting
from vault.cases import find_case
from vault.db import unit_of_work
from vault.signin import COOKIE

PASSWORD = "console password for the count"  # noqa: S105 - a throw-away vault's
ROUTES = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
# Every role a page may need, in one person (admin and approver are never held together).
ROLES = ["custodian", "investigator", "auditor", "admin"]


def signed_in(api: Api, username: str, roles: list[str]) -> dict[str, str]:
    """The session cookie and CSRF token a browser gets from the sign-in form."""
    with unit_of_work(api.vault.app.factory) as session:
        acts.add_user(session, actor="test", username=username, roles=roles)
        acts.set_password(session, actor="test", username=username, password=PASSWORD)
    client = api.client
    client.cookies.clear()
    form = client.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    form_fields = {"username": username, "password": PASSWORD, "csrf": csrf.group(1)}
    answer = client.post("/signin", data=form_fields, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    cookie = client.cookies[COOKIE]
    client.cookies.clear()
    page = client.get("/case-files", headers={"Cookie": f"{COOKIE}={cookie}"}).text
    page_csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert page_csrf is not None
    return {"cookie": f"{COOKIE}={cookie}", "csrf": page_csrf.group(1)}


def test_every_page_with_a_unit_of_work_is_registered_as_one_call() -> None:
    written_sync = [r.path for r in ROUTES if takes_a_unit(r.endpoint)]
    assert written_sync == []  # the PageRouter wrapped them all
    coroutines = [r for r in ROUTES if inspect.iscoroutinefunction(r.endpoint)]
    assert len(coroutines) >= 55, len(coroutines)


def test_every_page_hands_its_work_to_a_thread_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = signed_in(api, "desk", ROLES)
    item = api.vault.items()[0]
    paths = [r.path for r in ROUTES if "GET" in (r.methods or ()) and "{" not in r.path]
    paths += [f"/recordings/{item.id}", "/case-files/no-such-case"]
    paths.remove("/signin/oidc")  # no identity provider here: 404 without any work
    paths.remove("/signin/oidc/callback")
    handed = counting(monkeypatch)
    counts = {}
    for path in paths:
        handed[0] = 0
        answer = api.client.get(path, headers={"Cookie": person["cookie"]},
                                follow_redirects=False)  # fmt: skip
        assert answer.status_code in (200, 404), (path, answer.status_code, answer.text[:300])
        counts[path] = handed[0]
    assert counts == dict.fromkeys(paths, 1)


def test_a_form_and_its_refusals_each_take_one_hand_off_or_none(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = signed_in(api, "desk", ROLES)
    handed = counting(monkeypatch)
    opened = api.client.post(
        "/case-files",
        data={"csrf": person["csrf"], "number": "CASE-ONE-CALL", "title": "one call"},
        headers={"Cookie": person["cookie"]}, follow_redirects=False,
    )  # fmt: skip
    assert (opened.status_code, opened.headers["location"]) == (303, "/case-files/CASE-ONE-CALL")
    # The request gate's check of the session before it lets the body be read, and the page.
    assert handed == [2]
    with unit_of_work(api.vault.app.factory) as session:
        assert find_case(session, "CASE-ONE-CALL").title == "one call"

    handed[0] = 0  # a stranger: sent to sign in, no unit and no thread
    anonymous = api.client.get("/recordings", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
    # ...before the parameters are checked, as when the visitor was a dependency.
    malformed = api.client.get("/flagged-recordings?page=0", follow_redirects=False)
    assert malformed.status_code == 303 and malformed.headers["location"].startswith("/signin")
    posted = api.client.post("/case-files", data={"number": "CASE-STRANGER"},
                             follow_redirects=False)  # fmt: skip
    assert posted.status_code == 401
    assert handed == [0]

    handed[0] = 0  # a cookie that names no session: found out in the unit
    forged = api.client.get("/recordings", headers={"Cookie": f"{COOKIE}=forged"},
                            follow_redirects=False)  # fmt: skip
    assert forged.status_code == 303 and forged.headers["location"].startswith("/signin")
    assert handed == [1]

    reader = signed_in(api, "reader", ["investigator"])
    handed[0] = 0  # a page this person's roles do not open
    refused = api.client.get("/people", headers={"Cookie": reader["cookie"]})
    assert refused.status_code == 403
    assert handed == [1]
