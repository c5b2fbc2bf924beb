"""The log checked in worker processes, one seq range each, joined: the same verdict as the
reference audit, on a clean vault and on a tampered one (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from custody.log import audit_runs, log_scan
from custody.log.append import append_event
from custody.log.audit import audit
from custody.log.audit_models import AuditRun
from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from tests.conftest import Vault, put_clip
from tests.custody.test_tamper import item_entries, sql
from vault.db import unit_of_work


def _findings(vault: Vault, entries: int = 16, **how: object) -> set[tuple[object, object]]:
    with unit_of_work(vault.app.factory, read_only=True) as session:
        report = audit(session, vault.app.stores, rehash_objects=False,
                       **how)  # type: ignore[arg-type]  # fmt: skip
    assert report.entries_checked == entries
    return {(f.item_id, f.seq) for f in report.findings}


def test_ranges_checked_in_processes_agree_with_the_reference(
    vault: Vault, clip_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
    vault.ingest()
    monkeypatch.setattr(log_scan, "RANGE_ALIGN", 4)  # 16 entries: four ranges, two processes
    assert _findings(vault, processes=2) == set() == _findings(vault, recompute=True)

    first, second = vault.items()[:2]
    edited = item_entries(vault, first.id.hex)[2]
    sql(vault, "UPDATE custody_event SET actor = 'somebody else' WHERE seq = :s", s=edited)
    deleted = item_entries(vault, second.id.hex)[1]
    sql(vault, "DELETE FROM custody_event WHERE seq = :s", s=deleted)
    in_processes = _findings(vault, 15, processes=2)
    assert in_processes == _findings(vault, 15, recompute=True)
    assert (first.id, edited) in in_processes
    assert (second.id, deleted + 1) in in_processes  # the entry after the gap, its chain broken


def test_an_entry_appended_while_the_audit_runs_is_no_finding(
    vault: Vault, clip_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon appends (an entry and its Merkle nodes) after the audit's snapshot began:
    the workers read in later snapshots of their own, and must not judge the new nodes
    against a tree that ends before them. The audit itself reads in one snapshot, as its
    callers open it, so it checks the 16 entries that snapshot holds on either database."""
    for n in range(4):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
    vault.ingest()
    monkeypatch.setattr(log_scan, "RANGE_ALIGN", 4)
    item = vault.items()[0]
    for processes in (1, 2):
        with unit_of_work(vault.app.factory, read_only=True, snapshot=True) as session:
            before = session.scalar(select(func.count()).select_from(CustodyEvent))
            with unit_of_work(vault.app.factory) as daemon:
                append_event(daemon, item_id=item.id, kind=EventKind.FIXITY_OK,
                             actor="system:fixity", data={"copy": "sealed"})  # fmt: skip
            report = audit(session, vault.app.stores, rehash_objects=False, processes=processes)
        assert report.ok, report.findings
        assert report.entries_checked == before


def test_an_append_between_the_heads_and_the_entries_is_no_finding(
    vault: Vault, clip_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon appends after the audit read the log head, before it reads the chain heads
    and the entries. In one snapshot (REPEATABLE READ on PostgreSQL, as on SQLite) the audit
    sees neither the entry nor its heads; statement by statement (READ COMMITTED) its heads
    and its entries came from two moments, and it reported the daemon's honest append as a
    broken chain."""
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "clip0.mp4")
    vault.ingest()
    daemon_appends_before_the_entries_are_read(vault, monkeypatch)
    with unit_of_work(vault.app.factory, read_only=True, snapshot=True) as session:
        before = session.scalar(select(func.count()).select_from(CustodyEvent))
        report = audit(session, vault.app.stores, rehash_objects=False)
    assert report.ok, report.findings
    assert report.entries_checked == before
    with (
        pytest.raises(ValueError, match="only reads"),
        unit_of_work(vault.app.factory, snapshot=True),
    ):
        pass
    with unit_of_work(vault.app.factory, read_only=True, snapshot=True) as session:
        assert audit(session, vault.app.stores, rehash_objects=False).entries_checked == before + 1


def test_the_consoles_audit_run_reads_in_one_snapshot(
    vault: Vault, clip_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same moment in an audit started from the console (custody.log.audit_runs): the run
    passes, where statement by statement it ended "failed" on PostgreSQL."""
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "clip0.mp4")
    vault.ingest()
    with unit_of_work(vault.app.factory) as session:
        run_id = audit_runs.start(session, started_by="sun").id
    daemon_appends_before_the_entries_are_read(vault, monkeypatch)
    app = vault.app
    audit_runs.execute(app.factory, app.stores, app.settings, run_id)
    with unit_of_work(app.factory, read_only=True) as session:
        run = session.get(AuditRun, run_id)
        assert run is not None
        assert (run.status, run.findings, run.detail) == ("passed", 0, "")


def daemon_appends_before_the_entries_are_read(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon records a fixity check once the audit has taken its snapshot and planned its
    scan, before it reads the chain heads and the entries (the append and the scan are the
    real ones)."""
    item = vault.items()[0]
    start_scan = log_scan.StartedScan.__init__

    def daemon_appends_next(self: log_scan.StartedScan, *args: Any, **kwargs: Any) -> None:
        start_scan(self, *args, **kwargs)
        with unit_of_work(vault.app.factory) as daemon:
            append_event(daemon, item_id=item.id, kind=EventKind.FIXITY_OK,
                         actor="system:fixity", data={"copy": "sealed"})  # fmt: skip

    monkeypatch.setattr(log_scan.StartedScan, "__init__", daemon_appends_next)
