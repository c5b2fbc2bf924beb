"""Retention only grows: policy edits, case changes and holds, seen in the database, the
custody chain and the stores themselves (filesystem and a real S3 server with Object Lock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.log.append import events_for
from retention import changes, holds
from retention.policy import current_policy, current_version
from retention.rules import add_years
from tests.conftest import Vault, make_vault, put_clip
from tests.retention.conftest import add_people
from vault.accounts import find_user
from vault.cases import open_case
from vault.db import unit_of_work
from vault.errors import RetentionViolation
from vault.models import CaseFlag, EvidenceItem
from vault.stores.protocol import ObjectStore


def _vault(backend: str, root: Path, request: pytest.FixtureRequest) -> Vault:
    if backend == "filesystem":
        return make_vault(root)
    buckets = request.getfixturevalue("buckets")
    return make_vault(root, sealed_store=buckets.sealed, access_store=buckets.access)


def _ingest(v: Vault, clip_dir: Path, clips: int) -> list[EvidenceItem]:
    for n in range(clips):
        put_clip(clip_dir, n, v.station_dir / "CAM1" / f"CAM1_OFC7_20260101T0{n}0000.mp4")
    v.ingest()
    with unit_of_work(v.app.factory) as session:
        items = list(session.execute(select(EvidenceItem).order_by(EvidenceItem.digest)).scalars())
        session.expunge_all()
    return items


def _enforcing(v: Vault) -> list[ObjectStore]:
    """The stores that enforce retention (an S3 access bucket without a lock mode does not)."""
    return [
        s for s in (v.app.stores.sealed, v.app.stores.access) if s.retention(v.items()[0].digest)
    ]


def _ends(v: Vault) -> dict[str, datetime | None]:
    return {i.digest: i.retain_until for i in v.items()}


@pytest.mark.parametrize("backend", ["filesystem", "s3"])
def test_policy_edits_never_shorten_and_extend_exactly_the_affected_items(
    backend: str, isolated_env: Path, clip_dir: Path, request: pytest.FixtureRequest
) -> None:
    v = _vault(backend, isolated_env, request)
    add_people(v)
    items = _ingest(v, clip_dir, 3)
    in_case = items[0]
    with unit_of_work(v.app.factory) as session:
        custodian = find_user(session, "custodian")
        open_case(session, number="C-7")
        changes.attach(session, v.app.stores, "C-7", [str(in_case.id)], user=custodian)
    stores = _enforcing(v)
    assert v.app.stores.sealed in stores
    before = _ends(v)
    assert {i.retention_rule for i in v.items()} == {"long_term", "case_open"}

    # Twenty years for recordings in no case would shorten two items: refused, with the count.
    with unit_of_work(v.app.factory) as session:
        admin = find_user(session, "admin")
        shorter = current_policy(session).model_copy(update={"unattached_years": 20})
        with pytest.raises(RetentionViolation, match=r"shorten the retention of 2 existing item"):
            changes.edit_policy(session, v.app.stores, shorter, user=admin, reason="save space")
    with unit_of_work(v.app.factory) as session:
        assert current_version(session).version == 1  # type: ignore[union-attr]
    assert _ends(v) == before

    # Forty years extends exactly those two; the case item keeps its own end.
    with unit_of_work(v.app.factory) as session:
        longer = current_policy(session).model_copy(update={"unattached_years": 40})
        edit = changes.edit_policy(session, v.app.stores, longer, user=find_user(session, "admin"),
                                   reason="new provincial rule")  # fmt: skip
    assert (edit.version, edit.extended) == (2, 2)
    after = _ends(v)
    assert after[in_case.digest] == before[in_case.digest]
    with unit_of_work(v.app.factory) as session:
        for item in items[1:]:
            row = session.get(EvidenceItem, item.id)
            assert row is not None and row.retain_until is not None
            assert row.retain_until == add_years(row.docked_at, 40)
            last = events_for(session, item.id)[-1]
            assert last.kind == "retention_extended" and last.data["policy_version"] == 2
            assert last.data["from"] == before[item.digest].isoformat()  # type: ignore[union-attr]
            for store in stores:  # the stores themselves hold the new end
                lock = store.retention(item.digest)
                assert lock is not None and lock.until is not None
                assert abs((lock.until - row.retain_until).total_seconds()) < 1
        assert [e.kind for e in events_for(session, in_case.id)][-1] == "retention_extended"

    # A store refuses to shorten by itself, whatever the vault asks.
    shortened_to = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(RetentionViolation):
        v.app.stores.sealed.set_retention(items[1].digest, until=shortened_to, hold=False)
    v.app.engine.dispose()


@pytest.mark.parametrize("backend", ["filesystem", "s3"])
def test_flags_holds_and_permanence_reach_the_stores(
    backend: str, isolated_env: Path, clip_dir: Path, request: pytest.FixtureRequest
) -> None:
    v = _vault(backend, isolated_env, request)
    add_people(v)
    items = _ingest(v, clip_dir, 2)
    sealed = v.app.stores.sealed
    with unit_of_work(v.app.factory) as session:
        custodian = find_user(session, "custodian")
        open_case(session, number="H-1")
        changes.attach(session, v.app.stores, "H-1", [str(items[0].id)], user=custodian)
        changes.close_case(session, v.app.stores, "H-1", user=custodian)
        changes.flag_case(session, v.app.stores, "H-1", [CaseFlag.HEARING], user=custodian)
    with unit_of_work(v.app.factory) as session:
        row = session.get(EvidenceItem, items[0].id)
        assert (
            row is not None and row.retain_until is None and row.retention_rule == "case_permanent"
        )
        assert "hearing" in (row.retention_basis or "")
    permanent = sealed.retention(items[0].digest)
    assert permanent is not None and permanent.needs_hold

    with unit_of_work(v.app.factory) as session:
        hold = holds.place_hold(session, v.app.stores, str(items[1].id),
                                user=find_user(session, "approver"), reason="pending appeal",
                                reference="court order 2026-3")  # fmt: skip
        hold_id = hold.id
    held = sealed.retention(items[1].digest)
    assert held is not None and held.hold
    with unit_of_work(v.app.factory) as session:
        holds.release_hold(session, v.app.stores, hold_id, user=find_user(session, "approver"),
                           reason="appeal withdrawn")  # fmt: skip
        kinds = [e.kind for e in events_for(session, items[1].id)]
    assert kinds[-2:] == ["hold_placed", "hold_released"]
    released = sealed.retention(items[1].digest)
    assert released is not None and not released.hold and released.until is not None
    # The permanent item's hold is not the legal hold's to lift.
    still = sealed.retention(items[0].digest)
    assert still is not None and still.needs_hold
    v.app.engine.dispose()


def test_a_device_clock_cannot_move_an_end(vault: Vault, clip_dir: Path) -> None:
    """A camera whose clock says 1990: its recording is still kept from the vault's receipt."""
    put_clip(clip_dir, 0, vault.station_dir / "CAM9" / "CAM9_OFC1_19900101T000000.mp4")
    vault.ingest()
    (item,) = vault.items()
    assert item.recorded_start is not None and item.recorded_start.year in (1989, 1990)
    assert item.retain_until == add_years(item.docked_at, 30)
    assert item.retain_until.year >= datetime.now(UTC).year + 29  # type: ignore[union-attr]
