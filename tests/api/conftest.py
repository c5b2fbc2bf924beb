"""The API under test: the ASGI app over httpx, one user per role, one approved request."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from custody.log.checkpoints import create_checkpoint
from tests.conftest import Vault, put_clip
from vault import accounts
from vault.cases import open_case
from vault.db import unit_of_work
from vault.models import Role


@dataclass
class Api:
    vault: Vault
    client: TestClient
    tokens: dict[str, str]  # role -> token of a user holding only that role
    request_number: str  # only-investigator's view request, approved by only-approver

    def as_role(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def api(vault: Vault, clip_dir: Path) -> Iterator[Api]:
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "CAM1_P1001_20261124T093000.mp4")
    vault.ingest()
    tokens = {}
    with unit_of_work(vault.app.factory) as session:
        for role in Role:
            accounts.add_user(session, username=f"only-{role.value}", roles=[role.value])
            tokens[role.value] = accounts.issue_token(session, username=f"only-{role.value}").secret
        accounts.add_user(session, username="target", roles=["investigator"])
        open_case(session, number="2026-117", title="the matrix's case")
        create_checkpoint(session, vault.settings)
    with TestClient(create_app(vault.app), raise_server_exceptions=False) as client:
        item = vault.items()[0]
        asked = client.post(
            "/requests",
            json={"items": [item.digest[:12]], "purpose": "view", "reason": "fixture"},
            headers={"Authorization": f"Bearer {tokens['investigator']}"},
        )
        number = asked.json()["number"]
        client.post(
            f"/requests/{number}/approve",
            json={"reason": "fixture"},
            headers={"Authorization": f"Bearer {tokens['approver']}"},
        ).raise_for_status()
        yield Api(vault, client, tokens, number)
