"""Attaching items to a case over HTTP and at the terminal records the same custody and puts
the same lock on the stores: case_linked, then retention_extended to the case's end, and for
a permanent case a legal hold on the sealed copy."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.http.app import create_app
from custody.log.append import events_for
from tests.conftest import make_vault, put_clip, run_cli
from tests.retention.conftest import add_people
from vault import accounts
from vault.cases import open_case
from vault.db import unit_of_work
from vault.items import find_item
from vault.models import CaseFlag


def test_http_and_cli_attach_alike(isolated_env: Path, clip_dir: Path) -> None:
    v = make_vault(isolated_env)
    add_people(v)
    for n in range(2):
        put_clip(clip_dir, n, v.station_dir / "CAM1" / f"c{n}.mp4")
    v.ingest()
    by_cli, by_http = sorted(v.items(), key=lambda i: i.original_name)
    with unit_of_work(v.app.factory) as session:
        open_case(session, number="2026-88", title="obstruction", flags=[CaseFlag.PERMANENT])
        token = accounts.issue_token(session, username="custodian").secret

    attached = run_cli(["case", "attach", "2026-88", by_cli.digest[:12], "--token", token],
                       v.env(), v.root)  # fmt: skip
    assert attached.returncode == 0, attached.stdout + attached.stderr
    with TestClient(create_app(v.app)) as client:
        answer = client.post("/cases/2026-88/items", json={"items": [by_http.digest[:12]]},
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 200, answer.text

    seen = {}
    with unit_of_work(v.app.factory) as session:
        for item in (by_cli, by_http):
            fresh = find_item(session, str(item.id))
            kinds = [e.kind for e in events_for(session, fresh.id)]
            seen[item.original_name] = (kinds[-2:], fresh.retention_rule, fresh.retain_until)
            sealed = v.app.stores.sealed.retention(fresh.digest)
            assert sealed is not None and sealed.hold, f"{item.original_name}: no legal hold"
    assert seen[by_cli.original_name] == seen[by_http.original_name]
    kinds, rule, until = seen[by_http.original_name]
    assert kinds == ["case_linked", "retention_extended"]
    assert rule == "case_permanent" and until is None
    v.app.engine.dispose()
