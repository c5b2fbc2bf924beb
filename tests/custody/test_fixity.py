"""Scheduled fixity on a real vault (SQLite and PostgreSQL): every copy re-hashed once per
cycle, damaged copies quarantined and repaired from the other copy only when it is intact."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from custody.fixity.checks import fixity_alerts, run_slice
from custody.fixity.models import CopyKind
from custody.log.append import events_for
from ingest.renditions import render_pending
from tests.conftest import Vault, put_clip, run_cli
from tests.custody.test_tamper import flip_byte
from vault import accounts
from vault.db import unit_of_work
from vault.stores.filesystem import FilesystemStore


@pytest.fixture
def stocked(vault: Vault, clip_dir: Path) -> Vault:
    for n in range(3):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
    vault.ingest()
    assert render_pending(vault.ingest_context()) == (3, 0)
    return vault


def path_of(vault: Vault, copy: CopyKind, digest: str) -> Path:
    store = vault.app.stores.sealed if copy == CopyKind.SEALED else vault.app.stores.access
    assert isinstance(store, FilesystemStore)
    return store.path_for(digest)


def kinds(vault: Vault, item_id: object) -> list[tuple[str, str | None]]:
    with unit_of_work(vault.app.factory, read_only=True) as session:
        return [(e.kind, e.data.get("copy")) for e in events_for(session, item_id)]  # type: ignore[arg-type]


def test_every_copy_is_checked_once_per_cycle_in_even_slices(stocked: Vault) -> None:
    def one_run() -> list[tuple[object, CopyKind]]:
        outcomes = run_slice(
            stocked.app.factory, stocked.app.stores, cycle=timedelta(hours=3),
            every=timedelta(hours=1), chunk_size=64 * 1024,
        )  # fmt: skip
        assert all(o.intact for o in outcomes)
        return [(o.item_id, o.copy) for o in outcomes]

    runs = [one_run() for _ in range(4)]
    # 9 copies (3 sealed, 3 access, 3 renditions), a third per run of a three-run cycle.
    assert [len(r) for r in runs] == [3, 3, 3, 0]  # the fourth run: all checked within the hour
    checked = [copy for run in runs for copy in run]
    assert len(set(checked)) == 9 == len(checked)
    for item in stocked.items():
        checks = [c for k, c in kinds(stocked, item.id) if k == "fixity_ok"]
        assert sorted(checks) == ["access", "rendition", "sealed"]  # type: ignore[type-var]


def test_a_damaged_access_copy_is_repaired_from_the_sealed_copy(stocked: Vault) -> None:
    item = stocked.items()[0]
    flip_byte(str(path_of(stocked, CopyKind.ACCESS, item.digest)))
    result = run_cli(["fixity", "run", "--all"], stocked.env(), stocked.root)
    out = " ".join(result.stdout.split())
    assert result.returncode == 1, out
    assert f"REPAIRED {item.id} access copy" in out and "9 cop(ies) checked, 8 intact" in out
    access_history = [k for k, c in kinds(stocked, item.id) if c == "access"]
    assert access_history == ["fixity_failed", "repaired"]
    data = path_of(stocked, CopyKind.ACCESS, item.digest).read_bytes()
    assert hashlib.sha256(data).hexdigest() == item.digest
    assert run_cli(["fixity", "status"], stocked.env(), stocked.root).returncode == 0
    verified = run_cli(["audit", "verify"], stocked.env(), stocked.root)
    assert verified.returncode == 0, verified.stdout


def test_a_missing_sealed_copy_is_restored_from_the_access_copy(stocked: Vault) -> None:
    item = stocked.items()[1]
    os.unlink(path_of(stocked, CopyKind.SEALED, item.digest))
    outcomes = run_slice(
        stocked.app.factory, stocked.app.stores, cycle=timedelta(days=90),
        every=timedelta(hours=1), chunk_size=64 * 1024, everything=True,
    )  # fmt: skip
    (repaired,) = [o for o in outcomes if not o.intact]
    assert repaired.repaired and repaired.copy == CopyKind.SEALED
    assert [k for k, c in kinds(stocked, item.id) if c == "sealed"] == ["fixity_failed", "repaired"]
    assert path_of(stocked, CopyKind.SEALED, item.digest).exists()


def test_when_both_copies_are_damaged_nothing_is_overwritten(stocked: Vault) -> None:
    item = stocked.items()[2]
    sealed, access = (path_of(stocked, c, item.digest) for c in (CopyKind.SEALED, CopyKind.ACCESS))
    flip_byte(str(sealed), offset=100)
    flip_byte(str(access), offset=200)
    before = sealed.read_bytes(), access.read_bytes()
    outcomes = run_slice(
        stocked.app.factory, stocked.app.stores, cycle=timedelta(days=90),
        every=timedelta(hours=1), chunk_size=64 * 1024, everything=True,
    )  # fmt: skip
    failed = [o for o in outcomes if not o.intact]
    assert {o.copy for o in failed} == {CopyKind.SEALED, CopyKind.ACCESS}
    assert not any(o.repaired for o in failed)
    assert all("both copies are damaged" in o.detail for o in failed)
    assert (sealed.read_bytes(), access.read_bytes()) == before  # evidence left as found
    history = kinds(stocked, item.id)
    assert ("fixity_failed", "sealed") in history and ("fixity_failed", "access") in history
    assert ("repaired", "sealed") not in history and ("repaired", "access") not in history

    with unit_of_work(stocked.app.factory) as session:
        alerts = fixity_alerts(session)
        accounts.add_user(session, username="auditor", roles=["auditor"])
        token = accounts.issue_token(session, username="auditor").secret
    assert any("no intact copy" in a for a in alerts)
    status = run_cli(["fixity", "status"], stocked.env(), stocked.root)
    assert status.returncode == 1 and str(item.id) in status.stdout
    with TestClient(create_app(stocked.app)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        health = client.get("/health", headers=headers).json()
        fixity = client.get("/fixity", headers=headers).json()
    assert health["alerts"] == alerts
    assert {q["stored_copy"] for q in fixity["quarantined"]} == {"sealed", "access"}
    assert fixity["by_status"]["failed"] == 2


def test_another_recordings_bytes_over_a_copy_are_named(stocked: Vault) -> None:
    """An insider copies one recording's file over another's access copy: fixity says whose
    bytes they are (not only that they hash differently), and repairs from the sealed copy."""
    first, second = sorted(stocked.items(), key=lambda i: i.original_name)[:2]
    target = path_of(stocked, CopyKind.ACCESS, first.digest)
    os.chmod(target, 0o600)
    target.write_bytes(path_of(stocked, CopyKind.ACCESS, second.digest).read_bytes())
    run_slice(stocked.app.factory, stocked.app.stores, cycle=timedelta(hours=1),
              every=timedelta(hours=1), chunk_size=64 * 1024, everything=True)  # fmt: skip
    with unit_of_work(stocked.app.factory, read_only=True) as session:
        failed = [e.data for e in events_for(session, first.id) if e.kind == "fixity_failed"]
    assert len(failed) == 1
    assert failed[0]["found"] == (
        f"hashes to {second.digest}: these are the bytes of item {second.id}"
        f" ({second.original_name})"
    )
    assert ("repaired", "access") in kinds(stocked, first.id)
