"""POST /requests/{ref}/export: the package comes back as a ZIP that verifies offline, and
nothing of it stays on the server; a refusal is problem+json and leaves nothing either."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ingest.renditions import render_pending
from tests.api.conftest import Api
from tests.api.test_http import approved_request
from tests.export.exporting import run_verifier
from vault.accounts import token_prefix


def leftovers(api: Api) -> list[Path]:
    return list((api.vault.settings.data_dir / "work").glob("export-*"))


def test_export_over_http_verifies_and_leaves_nothing_behind(api: Api, tmp_path: Path) -> None:
    render_pending(api.vault.ingest_context())
    number = approved_request(api, purpose="export")
    item = api.vault.items()[0]
    body = {"clips": [{"item": item.digest[:12], "start": 0.2, "end": 0.8}], "watermark": True,
            "recipient": "Haidian District People's Court"}  # fmt: skip
    answer = api.client.post(
        f"/requests/{number}/export", json=body, headers=api.as_role("investigator")
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    export = answer.headers["x-export-number"]
    assert f'filename="{export}.zip"' in answer.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        archive.extractall(tmp_path)
    verified = run_verifier(tmp_path / export)
    assert verified.returncode == 0, verified.stdout
    assert "1 item(s)" in verified.stdout
    assert leftovers(api) == []
    chain = api.client.get(f"/items/{item.id}/custody", headers=api.as_role("auditor")).json()
    exported = [e["data"] for e in chain if e["kind"] == "exported"]
    assert exported and {e["via_token"] for e in exported} == {
        token_prefix(api.tokens["investigator"])
    }  # the export route authenticates without a write lock, and still names the token


def test_refused_export_is_a_problem_and_leaves_nothing(api: Api) -> None:
    answer = api.client.post(
        f"/requests/{api.request_number}/export", json={}, headers=api.as_role("investigator")
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert "is for view, not export" in answer.json()["detail"]
    assert leftovers(api) == []
