"""Every refusal of the destruction workflow: each names its reason and deletes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from retention import appraisal, changes, holds
from retention.destruction import execute
from retention.models import BatchStatus, Decision
from tests.conftest import Vault, make_vault
from tests.retention.conftest import VaultClock, add_people, ingest_expiring, wait_until
from vault.accounts import find_user
from vault.db import unit_of_work
from vault.errors import AccessDenied, Conflict, InputRejected, RetentionViolation
from vault.models import EvidenceItem, ItemStatus


def _fingerprint(v: Vault, items: list[EvidenceItem]) -> dict[str, str]:
    """Every stored byte of the items, to prove nothing was deleted or changed."""
    found = {}
    for item in items:
        for store in (v.app.stores.sealed, v.app.stores.access):
            with store.open(item.digest) as stream:
                found[f"{store.name}/{item.digest}"] = hashlib.sha256(stream.read()).hexdigest()
    return found


def _batch(v: Vault, items: list[EvidenceItem], *, supervisor: str | None = "supervisor") -> str:
    with unit_of_work(v.app.factory) as session:
        batch = appraisal.appraise(
            session, v.app.stores, user=find_user(session, "appraiser1"), members=[],
                zone="UTC",
            decisions=[appraisal.DecisionIn(str(i.id), Decision.DESTROY, "expired") for i in items],
        )  # fmt: skip
        number = batch.number
    with unit_of_work(v.app.factory) as session:
        appraisal.decide_batch(session, number, user=find_user(session, "principal"),
                               approve=True, note="approved")  # fmt: skip
    if supervisor is not None:
        with unit_of_work(v.app.factory) as session:
            appraisal.supervise(session, number, user=find_user(session, supervisor))
    return number


@pytest.fixture
def expired(
    isolated_env: Path, clip_dir: Path, clock: VaultClock
) -> tuple[Vault, list[EvidenceItem]]:
    v = make_vault(isolated_env)
    add_people(v)
    items = ingest_expiring(v, clip_dir, clock, clips=2, seconds=2)
    wait_until(max(i.retain_until for i in items) + timedelta(seconds=1))  # type: ignore[type-var]
    return v, items


def _refused(v: Vault, items: list[EvidenceItem], number: str, executor: str, why: str) -> None:
    before = _fingerprint(v, items)
    with pytest.raises(RetentionViolation, match=why) as raised:
        execute(v.app.factory, v.app.stores, v.app.settings, number, executor=executor)
    assert "nothing was deleted" in str(raised.value)
    assert _fingerprint(v, items) == before
    with unit_of_work(v.app.factory) as session:
        statuses = session.execute(select(EvidenceItem.status)).scalars().all()
        assert set(statuses) == {ItemStatus.PRESERVED}
        assert appraisal.find_batch(session, number).status == BatchStatus.APPROVED


def test_destruction_before_the_end_is_refused(
    isolated_env: Path, clip_dir: Path, clock: VaultClock
) -> None:
    v = make_vault(isolated_env)
    add_people(v)
    items = ingest_expiring(v, clip_dir, clock, clips=1, seconds=3600)
    with unit_of_work(v.app.factory) as session:
        assert appraisal.due_items(session) == []
        with pytest.raises(Conflict, match="retention runs until"):
            appraisal.appraise(
                session, v.app.stores, user=find_user(session, "appraiser1"), members=[],
                zone="UTC",
                decisions=[appraisal.DecisionIn(str(items[0].id), Decision.DESTROY, "x")],
            )  # fmt: skip
    # Appraised while the vault's clock ran ahead; executed once it is right again.
    clock.years_ahead(1)
    number = _batch(v, items)
    clock.real()
    _refused(v, items, number, "executor", "is retained until")


def test_destruction_under_a_hold_is_refused(expired: tuple[Vault, list[EvidenceItem]]) -> None:
    v, items = expired
    number = _batch(v, items)
    with unit_of_work(v.app.factory) as session:
        holds.place_hold(
            session, v.app.stores, str(items[0].id), user=find_user(session, "approver"),
            reason="defence asked for it", reference="court order 2026-17",
        )  # fmt: skip
    _refused(v, items, number, "executor", r"under legal hold \(court order 2026-17\)")
    # The store carries the hold too.
    assert v.app.stores.sealed.retention(items[0].digest).needs_hold  # type: ignore[union-attr]


def test_destruction_without_approval_is_refused(
    expired: tuple[Vault, list[EvidenceItem]],
) -> None:
    v, items = expired
    with unit_of_work(v.app.factory) as session:
        batch = appraisal.appraise(
            session, v.app.stores, user=find_user(session, "appraiser1"), members=[],
                zone="UTC",
            decisions=[appraisal.DecisionIn(str(i.id), Decision.DESTROY, "x") for i in items],
        )  # fmt: skip
        number = batch.number
    before = _fingerprint(v, items)
    with pytest.raises(RetentionViolation, match="only an approved batch is destroyed"):
        execute(v.app.factory, v.app.stores, v.app.settings, number, executor="executor")
    # Nobody but the principal approves.
    with unit_of_work(v.app.factory) as session, pytest.raises(AccessDenied, match="principal"):
        appraisal.decide_batch(session, number, user=find_user(session, "executor"),
                               approve=True, note="x")  # fmt: skip
    with unit_of_work(v.app.factory) as session:
        appraisal.decide_batch(session, number, user=find_user(session, "principal"),
                               approve=False, note="keep them for now")  # fmt: skip
    with pytest.raises(RetentionViolation, match="is refused"):
        execute(v.app.factory, v.app.stores, v.app.settings, number, executor="executor")
    assert _fingerprint(v, items) == before


def test_the_principal_cannot_execute(expired: tuple[Vault, list[EvidenceItem]]) -> None:
    v, items = expired
    number = _batch(v, items)
    _refused(v, items, number, "principal", "the principal who approved the batch cannot")


def test_executor_and_supervisor_must_differ(expired: tuple[Vault, list[EvidenceItem]]) -> None:
    v, items = expired
    number = _batch(v, items, supervisor="both")
    _refused(v, items, number, "both", "two different people")


def test_a_principal_cannot_supervise_their_own_batch(
    expired: tuple[Vault, list[EvidenceItem]],
) -> None:
    v, items = expired
    number = _batch(v, items, supervisor=None)
    with unit_of_work(v.app.factory) as session, pytest.raises(AccessDenied, match="principal"):
        appraisal.supervise(session, number, user=find_user(session, "principal"))
    _refused(v, items, number, "executor", "no supervisor has taken this batch")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("category", r"now kept permanently"),
        ("case", r"changed since appraisal: #\d+ case_linked"),
        ("metadata", r"changed since appraisal: #\d+ metadata_corrected"),
    ],
)
def test_an_item_changed_since_appraisal_is_refused(
    expired: tuple[Vault, list[EvidenceItem]], change: str, why: str
) -> None:
    v, items = expired
    number = _batch(v, items)
    changers: dict[str, Callable[[], None]] = {
        "category": lambda: _categorize(v, items[0], "obstruction"),
        "case": lambda: _into_case(v, items[0]),
        "metadata": lambda: _categorize(v, items[0], "traffic"),
    }
    changers[change]()
    _refused(v, items, number, "executor", why)


def _categorize(v: Vault, item: EvidenceItem, category: str) -> None:
    with unit_of_work(v.app.factory) as session:
        changes.categorize(session, v.app.stores, str(item.id), [category],
                           user=find_user(session, "custodian"))  # fmt: skip


def _into_case(v: Vault, item: EvidenceItem) -> None:
    from vault.cases import open_case  # noqa: PLC0415 - only this case needs it

    with unit_of_work(v.app.factory) as session:
        open_case(session, number="X-1")
        case = changes.attach(session, v.app.stores, "X-1", [str(item.id)],
                              user=find_user(session, "custodian"))  # fmt: skip
        changes.close_case(session, v.app.stores, case.number, user=find_user(session, "custodian"))


def test_a_kept_end_must_come_after_the_vaults_today(
    expired: tuple[Vault, list[EvidenceItem]],
) -> None:
    """Clock skew: a client's idea of today cannot move an end. A keep decision whose new end
    is already past on the vault's clock is refused, however the caller's clock reads."""
    v, items = expired
    client_today = datetime.now(UTC) - timedelta(days=400)  # a client clock a year behind
    with unit_of_work(v.app.factory) as session, pytest.raises(InputRejected, match="after today"):
        appraisal.appraise(
            session, v.app.stores, user=find_user(session, "appraiser1"), members=[],
                zone="UTC",
            decisions=[appraisal.DecisionIn(str(items[0].id), Decision.KEEP, "keep",
                                            client_today + timedelta(days=30))],
        )  # fmt: skip
