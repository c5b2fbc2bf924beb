"""A caller without a well-formed token is refused before any database work (issue 23): no
connection is taken from the pool for it, on any route. /health remembers a token for a second
and its alerts for five, so a monitor polling it costs the database nothing, and a revoked
token is still refused within a second."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from api.http.callers import REMEMBERED_S, TokenCache
from api.http.convert import event_out, item_out
from api.http.routes import items as items_routes
from custody.log.append import events_for
from tests.api.conftest import Api
from tests.api.test_http import ROLE_MATRIX, sample_request
from vault import accounts
from vault.db import unit_of_work
from vault.items import find_item

WITHOUT = {
    "no header": {},
    "another scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "not one of ours": {"Authorization": "Bearer evt_short"},
    "not a token at all": {"Authorization": "Bearer " + "x" * 47},
}


@contextmanager
def checkouts(api: Api) -> Iterator[list[int]]:
    """How many connections the vault's pool hands out inside the block."""
    taken = [0]

    def count(*_: object) -> None:
        taken[0] += 1

    engine = api.vault.app.engine
    event.listen(engine, "checkout", count)
    try:
        yield taken
    finally:
        event.remove(engine, "checkout", count)


def remembered_until_told(api: Api) -> TokenCache:
    """The app's token cache, remembering for as long as the test needs: the connections it
    counts must not depend on whether the one-second entry ran out between two requests on a
    busy machine. The test sets ``ttl`` back to REMEMBERED_S before it checks that a revoked
    token is refused within the second."""
    cache = api.client.app.state.token_cache = TokenCache(ttl=3600.0)  # type: ignore[attr-defined]
    return cache


@pytest.mark.parametrize("credential", sorted(WITHOUT))
def test_a_missing_or_malformed_credential_takes_no_connection(api: Api, credential: str) -> None:
    routes = sorted(r for r in ROLE_MATRIX if r != ("GET", "/openapi.json"))
    requests = [(method, *sample_request(api, method, path)) for method, path in routes]
    with checkouts(api) as taken:
        for method, url, body in requests:
            answer = api.client.request(method, url, json=body, headers=WITHOUT[credential])
            assert answer.status_code == 401, (method, url, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
    assert taken == [0], f"{taken[0]} connection(s) taken for refused callers"


def test_health_remembers_a_token_for_a_second_and_forgets_a_revoked_one(api: Api) -> None:
    with unit_of_work(api.vault.app.factory) as session:
        accounts.add_user(session, username="monitor", roles=["auditor"])
        issued = accounts.issue_token(session, username="monitor")
        secret, prefix = issued.secret, issued.token.prefix
    headers = {"Authorization": f"Bearer {secret}"}
    cache = remembered_until_told(api)
    assert api.client.get("/health", headers=headers).status_code == 200
    with checkouts(api) as taken:
        for _ in range(20):
            assert api.client.get("/health", headers=headers).status_code == 200
    assert taken == [0]  # the token and the alerts, both remembered

    cache.ttl = REMEMBERED_S
    with unit_of_work(api.vault.app.factory) as session:
        accounts.revoke_token(session, prefix)
    time.sleep(1.1)
    refused = api.client.get("/health", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_the_hottest_reads_take_one_connection_each_and_forget_a_revoked_token(
    api: Api,
) -> None:
    """An item and its custody chain: the caller remembered for a second, the read in one unit
    of work (one connection); the answers are those of the ORM path, and a prefix still works."""
    item = api.vault.items()[0]
    headers = api.as_role("investigator")
    cache = remembered_until_told(api)
    by_id = api.client.get(f"/items/{item.id}", headers=headers)
    chain = api.client.get(f"/items/{item.id}/custody", headers=headers)
    assert by_id.status_code == chain.status_code == 200
    with checkouts(api) as taken:
        for _ in range(10):
            assert api.client.get(f"/items/{item.id}", headers=headers).json() == by_id.json()
            assert api.client.get(f"/items/{item.id}/custody", headers=headers).json() == (
                chain.json()
            )
    assert taken == [20]
    assert api.client.get(f"/items/{item.id.hex[:8]}", headers=headers).json() == by_id.json()
    assert api.client.get(f"/items/{item.digest[:8]}/custody", headers=headers).json() == (
        chain.json()
    )
    with unit_of_work(api.vault.app.factory) as session:  # the ORM path's answers
        found = find_item(session, str(item.id))
        assert by_id.json() == item_out(found).model_dump(mode="json")
        assert chain.json() == [event_out(e).model_dump(mode="json")
                                for e in events_for(session, item.id)]  # fmt: skip
    assert [e["kind"] for e in chain.json()][:1] == ["ingested"]
    missing = api.client.get("/items/00000000-0000-4000-8000-000000000000", headers=headers)
    assert missing.status_code == 404
    missing = api.client.get("/items/00000000-0000-4000-8000-000000000000/custody",
                             headers=headers)  # fmt: skip
    assert missing.status_code == 404

    cache.ttl = REMEMBERED_S
    with unit_of_work(api.vault.app.factory) as session:
        accounts.revoke_token(session, accounts.token_prefix(api.tokens["investigator"]))
    time.sleep(1.1)
    refused = api.client.get(f"/items/{item.id}", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_requests_arriving_together_with_one_token_look_it_up_once(api: Api) -> None:
    """A token not (or no longer) remembered, arriving on many requests at once, as when its
    second runs out under load: one look-up serves them all; a refused token is refused on
    every one of its requests (a refusal is not remembered)."""
    with unit_of_work(api.vault.app.factory) as session:
        accounts.add_user(session, username="poller", roles=["auditor"])
        secret = accounts.issue_token(session, username="poller").secret
    item = api.vault.items()[0]
    # The alerts of /health and the reads each take a connection of their own: only the two
    # item reads, whose every request takes one, are asked together with the fresh token.
    paths = [f"/items/{item.id}", f"/items/{item.id}/custody"] * 10
    app = api.client.app

    async def together(token: str) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vault") as client:
            answers = await asyncio.gather(
                *(client.get(p, headers={"Authorization": f"Bearer {token}"}) for p in paths)
            )
        return [a.status_code for a in answers]

    cache = remembered_until_told(api)
    with checkouts(api) as taken:
        assert asyncio.run(together(secret)) == [200] * len(paths)
    assert taken == [len(paths) + 1]  # each read's unit of work, and one look-up

    cache.ttl = REMEMBERED_S
    with unit_of_work(api.vault.app.factory) as session:
        accounts.revoke_token(session, accounts.token_prefix(secret))
    time.sleep(1.1)
    with checkouts(api) as taken:
        assert asyncio.run(together(secret)) == [401] * len(paths)
    assert taken == [len(paths)]  # each request asked, and was refused


def test_the_hottest_reads_run_two_at_a_time_on_sqlite_and_one_per_slot_elsewhere(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a read is Python under the GIL: more threads at once only contend (callers.
    read_threads). On PostgreSQL reads wait on the network: each database slot runs one."""
    item = api.vault.items()[0]
    running, most, lock = [0], [0], threading.Lock()
    read = items_routes.item_json

    def counted(session: Session, reference: str) -> bytes:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)  # long enough for every request to have arrived
            return read(session, reference)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(items_routes, "item_json", counted)
    headers = api.as_role("investigator")
    app = api.client.app

    async def together() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vault") as client:
            answers = await asyncio.gather(
                *(client.get(f"/items/{item.id}", headers=headers) for _ in range(12))
            )
        return [a.status_code for a in answers]

    assert asyncio.run(together()) == [200] * 12
    sqlite = api.vault.app.engine.dialect.name == "sqlite"
    slots = api.vault.app.settings.db_pool_size
    assert most[0] == (2 if sqlite else min(slots, 12)), most[0]
