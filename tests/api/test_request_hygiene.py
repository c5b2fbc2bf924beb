"""Smaller findings of the security review (issue 17): item references are an id or a hex
prefix of six or more digits (no SQL wildcard, no scan of the item table), case numbers come
from a documented character set, a 405 says what is allowed, and the last admin stays."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from vault import accounts
from vault.db import unit_of_work
from vault.errors import Conflict


@pytest.mark.parametrize("ref", ["____", "______", "%25%25%25%25%25%25", "%25", "abc", "zzzzzzz"])
def test_item_references_are_never_patterns(api: Api, ref: str) -> None:
    answer = api.client.get(f"/items/{ref}", headers=api.as_role("custodian"))
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


def test_item_references_by_id_or_digest_prefix(api: Api) -> None:
    (item,) = api.vault.items()
    for ref in (str(item.id), item.id.hex, str(item.id)[:8], item.digest[:6], item.digest):
        answer = api.client.get(f"/items/{ref}", headers=api.as_role("custodian"))
        assert answer.status_code == 200, (ref, answer.text)
        assert answer.json()["id"] == str(item.id)
    short = api.client.get(f"/items/{item.digest[:5]}", headers=api.as_role("custodian"))
    assert short.status_code == 404 and "too short" in short.json()["detail"]


@pytest.mark.parametrize("number", ["../../x", "..", "a/b", ".hidden", "x\u202ey", "x\x00"])
def test_case_numbers_from_a_documented_set(api: Api, number: str) -> None:
    answer = api.client.post(
        "/cases", json={"number": number, "title": "t"}, headers=api.as_role("custodian")
    )
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "letters and digits of any script" in detail or "NUL" in detail


def test_a_court_case_number_is_accepted(api: Api) -> None:
    answer = api.client.post(
        "/cases", json={"number": "(2026)京0108刑初117号", "title": "t"},
        headers=api.as_role("custodian"),
    )  # fmt: skip
    assert answer.status_code == 201, answer.text


def test_a_405_says_which_methods_are_allowed(api: Api) -> None:
    answer = api.client.delete("/items", headers=api.as_role("custodian"))
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET"
    assert answer.headers["content-type"] == "application/problem+json"


def test_the_last_active_admin_cannot_be_disabled(api: Api) -> None:
    answer = api.client.post("/users/only-admin/disable", headers=api.as_role("admin"))
    assert answer.status_code == 409, answer.text
    assert "last active admin" in answer.json()["detail"]
    with unit_of_work(api.vault.app.factory) as session:
        accounts.add_user(session, username="second-admin", roles=["admin"])
    assert api.client.post("/users/only-admin/disable", headers=api.as_role("admin")).is_success
    with unit_of_work(api.vault.app.factory) as session, pytest.raises(Conflict):
        accounts.disable_user(session, "second-admin")


def test_if_range_is_honoured_with_the_digest_as_strong_etag(api: Api) -> None:
    (item,) = api.vault.items()
    url = f"/requests/{api.request_number}/items/{item.digest[:12]}/content"
    auth = api.as_role("investigator")
    whole = api.client.get(url, headers=auth)
    assert whole.headers["etag"] == f'"{item.digest}"'
    matching = api.client.get(
        url, headers=auth | {"Range": "bytes=0-99", "If-Range": f'"{item.digest}"'}
    )
    assert matching.status_code == 206 and len(matching.content) == 100
    for stale in ('"0000"', "Wed, 21 Oct 2015 07:28:00 GMT", f'W/"{item.digest}"'):
        answer = api.client.get(url, headers=auth | {"Range": "bytes=0-99", "If-Range": stale})
        assert answer.status_code == 200, stale  # the whole object, as RFC 9110 says
        assert len(answer.content) == item.size


@pytest.mark.parametrize("body", [b"\xc1$1\xd0", b'{"reason": "\xff"}', b'{"a":'])
def test_a_body_that_is_not_json_is_a_documented_422(api: Api, body: bytes) -> None:
    """Found by the stateful schemathesis run: a body that is not UTF-8 was FastAPI's 400,
    which no operation documents; malformed JSON was already 422."""
    headers = {**api.as_role("investigator"), "Content-Type": "application/json"}
    answer = api.client.post("/requests", content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
