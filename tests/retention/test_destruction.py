"""The full destruction path, on the filesystem store and on a real S3 server with Object
Lock: due listing, appraisal, the principal's approval, supervision, execution, the register
signed twice and time-stamped, tombstones, custody events, and the audit still passing."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.log.append import events_for
from custody.log.models import LogHead
from ingest.renditions import render_pending
from retention import appraisal, destruction
from retention.destruction import execute
from retention.models import BatchStatus, Decision
from tests.conftest import Vault, make_vault, put_clip, run_cli
from tests.custody.test_audit_report import pyhanko_validate
from tests.retention.conftest import VaultClock, add_people, ingest_expiring, wait_until
from tests.tsa import LocalTsa
from vault.accounts import find_user
from vault.db import unit_of_work
from vault.errors import NotFound, RetentionViolation
from vault.models import EvidenceItem, ItemStatus, Rendition

PEOPLE_TIME = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00 \(CST\)"


def _stores_for(backend: str, request: pytest.FixtureRequest) -> dict[str, object]:
    if backend == "filesystem":
        return {}
    buckets = request.getfixturevalue("buckets")
    return {"sealed_store": buckets.sealed, "access_store": buckets.access}


def _appraise_approve_supervise(
    v: Vault, items: list[EvidenceItem], *, keep_last: bool = True
) -> str:
    """Appraisal (destroy all, or all but the last, which is kept ten more years), the
    principal's approval, and the supervisor taking the batch."""
    destroy = items[:-1] if keep_last else items
    keep_until = datetime.now(UTC) + timedelta(days=3650)
    with unit_of_work(v.app.factory) as session:
        due = appraisal.due_items(session)
        assert {i.id for i in due} == {i.id for i in items}
        assert {appraisal.group_key(i) for i in due} == {"no case"}
        decisions = [
            appraisal.DecisionIn(str(i.id), Decision.DESTROY, "no evidential value")
            for i in destroy
        ]
        if keep_last:
            decisions.append(appraisal.DecisionIn(str(items[-1].id), Decision.KEEP,
                                                  "training material", keep_until))  # fmt: skip
        batch = appraisal.appraise(session, v.app.stores, user=find_user(session, "appraiser1"),
                                   members=["appraiser2"], decisions=decisions,
                                   zone="UTC")  # fmt: skip
        number = batch.number
    with unit_of_work(v.app.factory) as session:
        appraisal.decide_batch(session, number, user=find_user(session, "principal"), approve=True,
                               note="approved at the meeting of 30 November")  # fmt: skip
    with unit_of_work(v.app.factory) as session:
        appraisal.supervise(session, number, user=find_user(session, "supervisor"))
    return number


@pytest.mark.parametrize("backend", ["filesystem", "s3"])
def test_full_destruction_path(
    backend: str,
    isolated_env: Path,
    clip_dir: Path,
    clock: VaultClock,
    request: pytest.FixtureRequest,
    tsa: LocalTsa,
) -> None:
    v = make_vault(
        isolated_env, tsa_url=tsa.url, tsa_trust_roots=[tsa.root_pem],
        **_stores_for(backend, request),
    )  # fmt: skip
    add_people(v)
    items = ingest_expiring(v, clip_dir, clock, clips=3, seconds=10)
    render_pending(v.ingest_context())
    with unit_of_work(v.app.factory) as session:
        assert appraisal.due_items(session) == []  # not yet: the end is still ahead
        renditions = dict(session.execute(select(Rendition.item_id, Rendition.digest)).all())
    for item in items:
        assert item.retention_rule == "long_term"
        sealed = v.app.stores.sealed.retention(item.digest)
        assert sealed is not None and sealed.until is not None
        assert abs((sealed.until - item.retain_until).total_seconds()) < 1  # type: ignore[operator]
    wait_until(max(i.retain_until for i in items) + timedelta(seconds=1))  # type: ignore[type-var]

    number = _appraise_approve_supervise(v, items)
    result = execute(v.app.factory, v.app.stores, v.app.settings, number, executor="executor")
    destroyed, kept = items[:-1], items[-1]
    assert result.items == 2
    assert result.objects_deleted == 2 * 2 + sum(1 for i in destroyed if i.id in renditions)

    # Tombstones: metadata, digests and the whole chain stay; the bytes are gone.
    with unit_of_work(v.app.factory) as session:
        for item in destroyed:
            row = session.get(EvidenceItem, item.id)
            assert row is not None and row.status == ItemStatus.DESTROYED
            assert row.digest == item.digest
            kinds = [e.kind for e in events_for(session, item.id)]
            assert kinds[:4] == ["ingested", "sealed", "access_copy_stored", "retention_set"]
            assert kinds[-4:] == [
                "appraised", "destruction_approved", "destruction_supervised", "destroyed"
            ]  # fmt: skip
            supervised = events_for(session, item.id)[-2]
            assert supervised.actor == "user:supervisor"
            assert supervised.data == {"batch": number}
            last = events_for(session, item.id)[-1]
            assert last.data["register"] == result.register_digest
            assert (last.data["executor"], last.data["supervisor"]) == ("executor", "supervisor")
            for store in (v.app.stores.sealed, v.app.stores.access):
                with pytest.raises(NotFound):
                    store.stat(item.digest)
            if item.id in renditions:
                assert not v.app.stores.access.exists(renditions[item.id])
        kept_row = session.get(EvidenceItem, kept.id)
        assert kept_row is not None and kept_row.status == ItemStatus.PRESERVED
        assert kept_row.retention_rule == "appraisal_keep"
        kept_kinds = [e.kind for e in events_for(session, kept.id)]
        assert kept_kinds[-2:] == ["retention_extended", "appraised"]
        batch = appraisal.find_batch(session, number)
        assert batch.status == BatchStatus.DESTROYED
        # A checkpoint signed at once covers every destroyed event, and so the register.
        head = session.get(LogHead, 1)
        assert head is not None and result.checkpoint_size == head.last_seq
    # The kept item's new end is enforced by the store itself.
    kept_lock = v.app.stores.sealed.retention(kept.digest)
    assert kept_lock is not None and kept_lock.until is not None
    assert kept_lock.until > datetime.now(UTC) + timedelta(days=3000)

    # The register: kept permanently in the sealed store, under legal hold.
    register = v.app.stores.sealed.retention(result.register_digest)
    assert register is not None and register.needs_hold
    pdf = isolated_env / "register.pdf"
    with v.app.stores.sealed.open(result.register_digest) as source:
        pdf.write_bytes(source.read())
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == result.register_digest
    ca = v.settings.keys_path / "ca" / "ca.pem"
    checked = pyhanko_validate(pdf, ca, tsa.root_pem)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("The signature is judged VALID") == 2, checked.stdout
    assert checked.stdout.count("The signature is cryptographically sound") == 2  # intact
    assert checked.stdout.count("The signer's certificate is trusted") == 2  # the vault's CA
    assert "Executor" in checked.stdout and "Supervisor" in checked.stdout, checked.stdout
    assert checked.stdout.lower().count("timestamp") >= 2, checked.stdout
    assert b"/FontFile2" in pdf.read_bytes()  # the CJK font is embedded, not referenced
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())  # fmt: skip
    # Instants in the one form for people, in display_timezone (issue 22), never a bare UTC.
    assert f"Times are in {v.settings.display_timezone}" in text
    assert re.search(PEOPLE_TIME, text) and "UTC" not in text.replace("offset from UTC", "")

    # The register downloads through the CLI, and the audit still passes.
    out = isolated_env / "downloaded.pdf"
    got = run_cli(["retention", "register", number, "--out", str(out)], v.env(), v.root)
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == pdf.read_bytes()
    # `evault show` names a destroyed item's copies as destroyed, with when (issue 22).
    gone = run_cli(["show", str(destroyed[0].id), "--json"], v.env(), v.root)
    assert gone.returncode == 0, gone.stderr
    copies = json.loads(gone.stdout)["copies"]
    assert [(c["copy"], c["status"]) for c in copies["copies"]] == [
        ("sealed", "destroyed"), ("access", "destroyed")
    ]  # fmt: skip
    with unit_of_work(v.app.factory, read_only=True) as session:
        destroyed_at = events_for(session, destroyed[0].id)[-1].at
    assert copies["destroyed_at"] == destroyed_at.isoformat().replace("+00:00", "Z")
    assert copies["rendition"] is None or copies["rendition"]["status"] == "destroyed"
    text = run_cli(["show", str(destroyed[0].id)], v.env(), v.root).stdout
    assert "sealed copy  destroyed 20" in text and "access copy  destroyed 20" in text
    still = json.loads(run_cli(["show", str(kept.id), "--json"], v.env(), v.root).stdout)
    assert {c["copy"] for c in still["copies"]["copies"]} >= {"sealed", "access"}
    assert "destroyed" not in {c["status"] for c in still["copies"]["copies"]}
    assert still["copies"]["destroyed_at"] is None

    tsa_env = {"EVAULT_TSA_URL": tsa.url, "EVAULT_TSA_TRUST_ROOTS": json.dumps([str(tsa.root_pem)])}
    audit = run_cli(["audit", "verify"], {**v.env(), **tsa_env}, v.root)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    v.app.engine.dispose()


def test_s3_refuses_early_deletion_by_itself_and_the_refusal_is_reported(
    isolated_env: Path, clip_dir: Path, clock: VaultClock, buckets: object
) -> None:
    """A vault whose clock runs 31 years ahead (a wrong clock, or an insider) believes the
    recordings are due; the sealed bucket's COMPLIANCE lock still refuses, and the vault says
    so instead of recording anything as destroyed."""
    v = make_vault(isolated_env, sealed_store=buckets.sealed, access_store=buckets.access)  # type: ignore[attr-defined]
    add_people(v)
    put_clip(clip_dir, 0, v.station_dir / "CAM1" / "CAM1_OFC7_20260101T000000.mp4")
    v.ingest()
    (item,) = v.items()
    clock.years_ahead(31)
    number = _appraise_approve_supervise(v, [item], keep_last=False)
    with pytest.raises(RetentionViolation, match=r"the sealed store refused to delete") as refused:
        execute(v.app.factory, v.app.stores, v.app.settings, number, executor="executor")
    assert "no item is recorded as destroyed" in str(refused.value)
    clock.real()
    with unit_of_work(v.app.factory) as session:
        row = session.get(EvidenceItem, item.id)
        assert row is not None and row.status == ItemStatus.PRESERVED
        assert "destroyed" not in [e.kind for e in events_for(session, item.id)]
        assert appraisal.find_batch(session, number).status == BatchStatus.EXECUTING
    with v.app.stores.sealed.open(item.digest) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == item.digest
    v.app.engine.dispose()


def test_a_destruction_interrupted_after_deleting_resumes(
    isolated_env: Path, clip_dir: Path, clock: VaultClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between deleting the objects and recording the register leaves the batch
    'executing'; running the destruction again re-checks, finds the objects gone, and
    finishes: one register, one destroyed event per item."""
    v = make_vault(isolated_env)
    add_people(v)
    items = ingest_expiring(v, clip_dir, clock, clips=2, seconds=2)
    wait_until(max(i.retain_until for i in items) + timedelta(seconds=1))  # type: ignore[type-var]
    number = _appraise_approve_supervise(v, items, keep_last=False)
    real_finish = destruction._finish

    def crash(*args: object, **kwargs: object) -> object:
        raise SystemExit("killed after deleting")

    monkeypatch.setattr(destruction, "_finish", crash)
    with pytest.raises(SystemExit):
        execute(v.app.factory, v.app.stores, v.app.settings, number, executor="executor")
    with unit_of_work(v.app.factory) as session:
        assert appraisal.find_batch(session, number).status == BatchStatus.EXECUTING
        assert {i.status for i in session.scalars(select(EvidenceItem))} == {ItemStatus.PRESERVED}
    assert not any(v.app.stores.sealed.exists(i.digest) for i in items)

    monkeypatch.setattr(destruction, "_finish", real_finish)
    result = execute(v.app.factory, v.app.stores, v.app.settings, number, executor="executor")
    assert (result.items, result.objects_deleted, result.objects_absent) == (2, 0, 4)
    with unit_of_work(v.app.factory) as session:
        for item in items:
            kinds = [e.kind for e in events_for(session, item.id)]
            assert kinds.count("destroyed") == 1
    audit = run_cli(["audit", "verify"], v.env(), v.root)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    v.app.engine.dispose()
