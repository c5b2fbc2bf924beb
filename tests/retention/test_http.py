"""The retention workflow over HTTP, end to end, and the server's clock as the only clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from api.http.app import create_app
from tests.conftest import make_vault
from tests.custody.test_audit_report import pyhanko_validate
from tests.retention.conftest import ROLES, VaultClock, add_people, ingest_expiring, wait_until
from vault import accounts
from vault.db import unit_of_work


def test_retention_workflow_over_http(
    isolated_env: Path, clip_dir: Path, clock: VaultClock
) -> None:
    v = make_vault(isolated_env)
    add_people(v)
    with unit_of_work(v.app.factory) as session:
        tokens = {
            name: {"Authorization": f"Bearer {accounts.issue_token(session, username=name).secret}"}
            for name in ROLES
        }
    items = ingest_expiring(v, clip_dir, clock, clips=2, seconds=5)
    with TestClient(create_app(v.app), raise_server_exceptions=False) as client:
        first = str(items[0].id)
        shown = client.get(f"/items/{first}/retention", headers=tokens["custodian"]).json()
        assert shown["rule"] == "long_term" and "30 years from receipt" in shown["basis"]
        assert client.get("/retention/due", headers=tokens["appraiser1"]).json() == []

        # A policy that would shorten both items is refused with the count: 409.
        shorter = client.put("/retention/policy", headers=tokens["admin"],
                             json={"unattached_years": 10, "reason": "save space"})  # fmt: skip
        assert shorter.status_code == 409, shorter.text
        assert "shorten the retention of 2 existing item(s)" in shorter.json()["detail"]
        assert shorter.headers["content-type"] == "application/problem+json"

        wait_until(max(i.retain_until for i in items) + timedelta(seconds=1))  # type: ignore[type-var]
        due = client.get("/retention/due", headers=tokens["appraiser1"]).json()
        assert {d["item"] for d in due} == {str(i.id) for i in items}

        # Clock skew: the client claims it is 2090; the server's clock says the end it asks
        # for (a week after the client's "today", long ago by the server) is in the past.
        client_today = datetime.now(UTC) - timedelta(days=365)
        skewed = client.post(
            "/appraisals",
            headers={**tokens["appraiser1"], "Date": "Mon, 01 Jan 2090 00:00:00 GMT"},
            json={"decisions": [{"item": first, "decision": "keep", "reason": "x",
                                 "keep_until": (client_today + timedelta(days=7)).isoformat()}]},
        )  # fmt: skip
        assert skewed.status_code == 422, skewed.text
        assert "after today (the vault's clock" in skewed.json()["detail"]
        # Nor can a client date a case's closing: the server closes it at its own time.
        dated = client.post(
            "/cases", headers=tokens["custodian"],
            json={"number": "Z-1", "closed_at": "1990-01-01T00:00:00Z"},
        )  # fmt: skip
        assert dated.status_code == 422, dated.text

        # A member who exists but is not an appraiser conflicts with the vault's roles now:
        # 409 (the request itself is well formed), and nothing is recorded.
        outsider = client.post(
            "/appraisals", headers=tokens["appraiser1"],
            json={"members": ["custodian"],
                  "decisions": [{"item": first, "decision": "destroy", "reason": "expired"}]},
        )  # fmt: skip
        assert outsider.status_code == 409, outsider.text
        assert "custodian is not an appraiser" in outsider.json()["detail"]

        made = client.post(
            "/appraisals", headers=tokens["appraiser1"],
            json={"members": ["appraiser2"],
                  "decisions": [{"item": str(i.id), "decision": "destroy", "reason": "expired"}
                                for i in items]},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        number = made.json()["number"]
        early = client.post(f"/appraisals/{number}/execute", headers=tokens["executor"])
        assert early.status_code == 409 and "only an approved batch" in early.json()["detail"]
        ok = client.post(f"/appraisals/{number}/approve", headers=tokens["principal"],
                         json={"note": "approved"})  # fmt: skip
        assert ok.status_code == 200 and ok.json()["status"] == "approved", ok.text
        took = client.post(f"/appraisals/{number}/supervise", headers=tokens["supervisor"])
        assert took.status_code == 200 and took.json()["supervisor"] == "supervisor", took.text
        done = client.post(f"/appraisals/{number}/execute", headers=tokens["executor"])
        assert done.status_code == 200, done.text
        assert done.json()["items"] == 2
        register = client.get(f"/appraisals/{number}/register", headers=tokens["custodian"])
        assert register.status_code == 200
        assert register.headers["content-type"] == "application/pdf"
        gone = client.get(f"/items/{first}/retention", headers=tokens["custodian"]).json()
        assert gone["status"] == "destroyed"
        refused = client.post(f"/items/{first}/holds", headers=tokens["approver"],
                              json={"reason": "late", "reference": "order 9"})  # fmt: skip
        assert refused.status_code == 409 and "destroyed" in refused.json()["detail"]
    pdf = isolated_env / "register.pdf"
    pdf.write_bytes(register.content)
    checked = pyhanko_validate(pdf, v.settings.keys_path / "ca" / "ca.pem")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("The signature is judged VALID") == 2, checked.stdout
    v.app.engine.dispose()
