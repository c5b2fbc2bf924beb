"""The access-request lifecycle over the API: ask, decide, deliver (with ranges), expire.

Every delivery's custody event must carry the digest of exactly the bytes the client got;
every refusal must deliver nothing and record nothing as delivered."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import timedelta

import av
import pytest
from sqlalchemy import select, update

from custody.access.models import AccessRequest
from custody.log.models import CustodyEvent
from ingest.renditions import render_pending
from tests.api.conftest import Api
from vault import accounts
from vault.db import unit_of_work, utcnow
from vault.models import EvidenceItem, ScanStatus


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def people(api: Api) -> Iterator[dict[str, dict[str, str]]]:
    """An investigator who is also an approver (to try self-approval), and a plain one."""
    with unit_of_work(api.vault.app.factory) as session:
        accounts.add_user(session, username="chen", roles=["investigator", "approver"])
        accounts.add_user(session, username="wang", roles=["investigator"])
        chen = accounts.issue_token(session, username="chen").secret
        wang = accounts.issue_token(session, username="wang").secret
    yield {
        "chen": bearer(chen),
        "wang": bearer(wang),
        "approver": api.as_role("approver"),
    }


def deliveries(api: Api) -> list[CustodyEvent]:
    with unit_of_work(api.vault.app.factory) as session:
        return list(
            session.execute(
                select(CustodyEvent)
                .where(CustodyEvent.kind.in_(["viewed", "downloaded"]))
                .order_by(CustodyEvent.seq)
            ).scalars()
        )


def ask(api: Api, who: dict[str, str], **body: object) -> dict[str, object]:
    item = api.vault.items()[0]
    payload = {"items": [item.digest[:12]], "purpose": "view", "reason": "case 117", **body}
    answer = api.client.post("/requests", json=payload, headers=who)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def access_bytes(api: Api) -> bytes:
    item = api.vault.items()[0]
    with api.vault.app.stores.access.open(item.digest) as stream:
        return stream.read()


def test_full_lifecycle_with_ranges(api: Api, people: dict[str, dict[str, str]]) -> None:
    request = ask(api, people["wang"], purpose="copy_original", period_days=2)
    number, item = request["number"], api.vault.items()[0]
    url = f"/requests/{number}/items/{item.digest[:12]}/content"
    before = len(deliveries(api))

    pending = api.client.get(url, headers=people["wang"])
    assert pending.status_code == 403 and "pending" in pending.json()["detail"]

    approved = api.client.post(
        f"/requests/{number}/approve", json={"reason": "in scope"}, headers=people["approver"]
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "only-approver"

    whole = api.client.get(url, headers=people["wang"])
    assert whole.status_code == 200
    assert whole.content == access_bytes(api)
    assert whole.headers["content-disposition"].startswith("attachment")
    part = api.client.get(url, headers=people["wang"] | {"Range": "bytes=100-1123"})
    assert part.status_code == 206 and len(part.content) == 1024
    assert part.headers["content-range"] == f"bytes 100-1123/{item.size}"
    assert part.content == whole.content[100:1124]
    tail = api.client.get(url, headers=people["wang"] | {"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]

    events = deliveries(api)[before:]
    assert [e.kind for e in events] == ["downloaded"] * 3
    received = [whole.content, part.content, tail.content]
    for event, body in zip(events, received, strict=True):
        assert event.data["digest"] == hashlib.sha256(body).hexdigest()
        assert event.data["request"] == number and event.reason == "case 117"
        assert event.actor == "user:wang"


def test_nobody_approves_their_own_request(api: Api, people: dict[str, dict[str, str]]) -> None:
    number = ask(api, people["chen"])["number"]
    own = api.client.post(
        f"/requests/{number}/approve", json={"reason": "x"}, headers=people["chen"]
    )
    assert own.status_code == 403 and "own request" in own.json()["detail"]


def test_refused_expired_and_foreign_requests_deliver_nothing(
    api: Api, people: dict[str, dict[str, str]]
) -> None:
    item = api.vault.items()[0]
    refused = ask(api, people["wang"])["number"]
    api.client.post(
        f"/requests/{refused}/refuse", json={"reason": "no"}, headers=people["approver"]
    )
    expired = ask(api, people["wang"])["number"]
    api.client.post(
        f"/requests/{expired}/approve", json={"reason": "ok"}, headers=people["approver"]
    )
    with unit_of_work(api.vault.app.factory) as session:
        session.execute(
            update(AccessRequest)
            .where(AccessRequest.number == expired)
            .values(valid_until=utcnow() - timedelta(seconds=1))
        )
    before = len(deliveries(api))
    cases = [
        (refused, people["wang"], "refused"),
        (expired, people["wang"], "expired"),
        (api.request_number, people["wang"], "not yours"),  # only-investigator's request
    ]
    for number, who, why in cases:
        url = f"/requests/{number}/items/{item.digest[:12]}/content"
        answer = api.client.get(url, headers=who)
        assert answer.status_code == 403, answer.text
        assert why in answer.json()["detail"]
        assert answer.headers["content-type"] == "application/problem+json"
    unsatisfiable = api.client.get(
        f"/requests/{api.request_number}/items/{item.digest[:12]}/content",
        headers=api.as_role("investigator") | {"Range": f"bytes={item.size}-"},
    )
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{item.size}"
    assert len(deliveries(api)) == before  # nothing recorded as delivered


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"period_days": 30}, 422, "period_days"),
        ({"reason": ""}, 422, "reason"),
        ({"reason": "   "}, 422, "needs a reason"),
        ({"items": ["0000dead"]}, 404, "no item matches"),
        ({"purpose": "borrow"}, 422, "purpose"),
        ({"requester_kind": "lawyer"}, 422, "document reference"),
        ({"unexpected": 1}, 422, "unexpected"),
    ],
)
def test_bad_requests_are_precise(
    api: Api, people: dict[str, dict[str, str]], body: dict[str, object], status: int, detail: str
) -> None:
    item = api.vault.items()[0]
    payload = {"items": [item.digest[:12]], "purpose": "view", "reason": "r", **body}
    answer = api.client.post("/requests", json=payload, headers=people["wang"])
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]


def first_frame(data: bytes) -> bytes:
    with av.open(io.BytesIO(data), format="mov") as container:
        frame = next(container.decode(video=0))
        return bytes(frame.planes[0])  # the luma plane: what the eye sees


def test_watermarked_copy_of_the_rendition(api: Api, people: dict[str, dict[str, str]]) -> None:
    item = api.vault.items()[0]
    number = ask(api, people["wang"], purpose="copy_rendition")["number"]
    decide = {"json": {"reason": "ok"}, "headers": people["approver"]}
    api.client.post(f"/requests/{number}/approve", **decide)
    url = f"/requests/{number}/items/{item.digest[:12]}/content"
    early = api.client.get(url, headers=people["wang"])
    assert early.status_code == 409 and "not made yet" in early.json()["detail"]

    assert render_pending(api.vault.ingest_context()) == (1, 0)
    before = len(deliveries(api))
    got = api.client.get(url, headers=people["wang"])
    assert got.status_code == 200, got.text
    event = deliveries(api)[before]
    rendition_digest = event.data["rendition"]
    with api.vault.app.stores.access.open(rendition_digest) as stream:
        rendition = stream.read()
    assert got.content != rendition
    assert event.data["digest"] == hashlib.sha256(got.content).hexdigest()
    assert number in event.data["watermark"] and "wang" in event.data["watermark"]
    # The burned-in text changes the picture itself, not just the container.
    assert first_frame(got.content) != first_frame(rendition)


def test_investigators_see_only_their_own_requests(
    api: Api, people: dict[str, dict[str, str]]
) -> None:
    mine = ask(api, people["wang"])["number"]
    listed = [r["number"] for r in api.client.get("/requests", headers=people["wang"]).json()]
    assert listed == [mine]
    other = api.client.get(f"/requests/{api.request_number}", headers=people["wang"])
    assert other.status_code == 404
    everyone = api.client.get("/requests", headers=api.as_role("auditor")).json()
    assert {r["number"] for r in everyone} == {mine, api.request_number}


def test_a_refused_delivery_makes_no_watermarked_copy(
    api: Api, people: dict[str, dict[str, str]]
) -> None:
    """Every precondition is checked before anything is made: a copy made for a delivery
    that is then refused would be stored bytes that no custody event names."""
    item = api.vault.items()[0]
    number = ask(api, people["wang"], purpose="copy_rendition")["number"]
    api.client.post(f"/requests/{number}/approve", json={"reason": "ok"},
                    headers=people["approver"])  # fmt: skip
    assert render_pending(api.vault.ingest_context()) == (1, 0)
    with unit_of_work(api.vault.app.factory) as session:
        row = session.get(EvidenceItem, item.id)
        assert row is not None
        row.scan_status, row.scan_detail = ScanStatus.INFECTED, "Eicar-Test-Signature"
    stored_before = set(api.vault.app.stores.access.iter_digests())
    before = len(deliveries(api))
    refused = api.client.get(f"/requests/{number}/items/{item.digest[:12]}/content",
                             headers=people["wang"])  # fmt: skip
    assert refused.status_code == 403 and "infected" in refused.json()["detail"]
    assert set(api.vault.app.stores.access.iter_digests()) == stored_before
    assert len(deliveries(api)) == before
