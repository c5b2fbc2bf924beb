"""The auditors' routes: what they return verifies with the independent RFC verifier."""

from __future__ import annotations

import base64

from tests import rfc_reference as rfc
from tests.api.conftest import Api


def unb64(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


def test_item_proof_bundle_verifies_offline(api: Api) -> None:
    headers = api.as_role("auditor")
    item = api.vault.items()[0]
    bundle = api.client.get(f"/items/{item.id}/proofs", headers=headers)
    assert bundle.status_code == 200, bundle.text
    body = bundle.json()
    (key,) = body["verifier_keys"]
    name, _, rest = key.partition("+")
    public = base64.b64decode(rest.split("+", 1)[1])[1:]
    text = rfc.verify_note(body["checkpoint"]["note"], name, public)
    _, size, root = rfc.checkpoint_fields(text)
    assert size == body["checkpoint"]["tree_size"] == 4  # the four ingest entries
    proven = [e for e in body["entries"] if e["proof"] is not None]
    assert [e["event"]["kind"] for e in proven] == [
        "ingested",
        "sealed",
        "access_copy_stored",
        "retention_set",
    ]
    for entry in proven:
        canonical = entry["canonical"].encode()
        index = entry["event"]["seq"] - 1
        assert rfc.root_from_inclusion(index, size, canonical, unb64(entry["proof"])) == root
    later = [e for e in body["entries"] if e["proof"] is None]
    assert [e["event"]["kind"] for e in later] == ["access_requested", "access_approved"]


def test_inclusion_and_consistency_routes(api: Api) -> None:
    headers = api.as_role("custodian")
    latest = api.client.get("/checkpoints/latest", headers=headers).json()
    assert latest["tree_size"] == 4 and latest["timestamped"] is False
    assert [c["id"] for c in api.client.get("/checkpoints", headers=headers).json()] == [1]
    proof = api.client.get("/proofs/inclusion", params={"seq": 2}, headers=headers).json()
    assert proof["tree_size"] == 4 and len(proof["proof"]) == 2
    whole = api.client.get("/proofs/consistency", params={"old": 2, "new": 5}, headers=headers)
    assert whole.status_code == 200 and whole.json()["proof"]
    for params, phrase in (
        ({"seq": 5}, "entry seq must be 1 to 4"),
        ({"seq": 1, "size": 99}, "tree size must be 1 to 6"),
    ):
        refused = api.client.get("/proofs/inclusion", params=params, headers=headers)
        assert refused.status_code == 422 and phrase in refused.json()["detail"], refused.text
    refused = api.client.get("/proofs/consistency", params={"old": 4, "new": 2}, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    keys = api.client.get("/keys", headers=headers).json()
    assert keys[0]["retired_at"] is None and keys[0]["verifier_key"].count("+") >= 2
