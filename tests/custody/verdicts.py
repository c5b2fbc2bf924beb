"""The audit's two ways of checking the log must reach the same verdict on every tamper case:
from each entry's stored bytes (one range, and many ranges joined), and the reference that
re-canonicalises every entry from its columns."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from custody.log import log_scan
from custody.log.audit import AuditReport, audit
from custody.log.checkpoints import WitnessFile
from tests.conftest import Vault
from vault.db import unit_of_work

Named = set[tuple[uuid.UUID | None, int | None]]


def _named(report: AuditReport) -> Named:
    return {(f.item_id, f.seq) for f in report.findings}


def _run(vault: Vault, witness: Path | None, **how: object) -> AuditReport:
    kept = WitnessFile.from_json(witness.read_text(encoding="utf-8")) if witness else None
    with unit_of_work(vault.app.factory, read_only=True) as session:
        return audit(session, vault.app.stores, witness=kept,
                     **how)  # type: ignore[arg-type]  # fmt: skip


def verdicts_agree(vault: Vault, *, witness: Path | None = None) -> Named:
    """Each way's findings, as (item, seq): they must be the same; returns them."""
    reference = _run(vault, witness, recompute=True)
    stored = _run(vault, witness)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(log_scan, "RANGE_ALIGN", 4)  # ranges of 4 entries, joined
        ranged = _run(vault, witness)
    assert _named(stored) == _named(reference), (stored.findings, reference.findings)
    assert _named(ranged) == _named(reference), (ranged.findings, reference.findings)
    assert stored.entries_checked == ranged.entries_checked == reference.entries_checked
    assert stored.ok == ranged.ok == reference.ok
    return _named(reference)
