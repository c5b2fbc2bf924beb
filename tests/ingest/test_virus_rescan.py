"""`evault rescan` (issue 22): recordings preserved unscanned are scanned again by a real
ClamAV on their sealed copies. A verdict goes on the item's custody chain only for bytes that
are the item's; a scanner that is off or cannot run records nothing; an infected one is
flagged and alerted as at ingest; only unscanned recordings are scanned again."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from custody.admin.models import AdminEvent
from custody.log.append import events_for
from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from tests.conftest import Vault, make_vault, put_clip
from tests.malware import infect
from vault.alerts import recent_alerts
from vault.db import unit_of_work
from vault.models import EvidenceItem, ScanStatus
from vault.stores.filesystem import FilesystemStore


def evault(vault: Vault, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args], cwd=vault.root,
        env=vault.env() | {f"EVAULT_{k.upper()}": v for k, v in settings.items()},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def state(vault: Vault) -> dict[str, tuple[ScanStatus, list[dict[str, object]]]]:
    """Each item's verdict and its virus_rescanned entries, by name."""
    with unit_of_work(vault.app.factory, read_only=True) as session:
        items = session.execute(select(EvidenceItem)).scalars()
        return {
            i.original_name: (i.scan_status, [e.data for e in events_for(session, i.id)
                                              if e.kind == EventKind.VIRUS_RESCANNED])
            for i in items
        }  # fmt: skip


def alter_sealed_copy(vault: Vault, name: str) -> None:
    """What an insider does to the sealed copy of the recording called ``name``."""
    altered = next(i for i in vault.items() if i.original_name == name)
    store = vault.app.stores.sealed
    assert isinstance(store, FilesystemStore)
    path = store.path_for(altered.digest)
    os.chmod(path, 0o600)
    path.write_bytes(path.read_bytes()[:-1] + b"\0")


def test_unscanned_recordings_are_scanned_again_and_recorded(
    isolated_env: Path, clip_dir: Path, signatures: Path
) -> None:
    vault = make_vault(isolated_env)  # scanning off: every recording preserved unscanned
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "clean.mp4")
    infect(put_clip(clip_dir, 1, vault.station_dir / "CAM1" / "infected.mp4"))
    put_clip(clip_dir, 2, vault.station_dir / "CAM1" / "altered.mp4")
    vault.ingest()
    before = state(vault)
    assert {status for status, _ in before.values()} == {ScanStatus.UNSCANNED}
    clamav = {"virus_scanner": "clamscan", "clamav_database": str(signatures)}

    off = evault(vault, "rescan")  # scanning is still off: said so, nothing recorded
    assert off.returncode == 2 and "virus_scanner = off" in off.stderr, off.stderr
    down = evault(vault, "rescan", **clamav | {"clamav_database": str(signatures) + ".gone"})
    assert down.returncode == 5 and "clamscan failed" in down.stderr, down.stderr
    assert state(vault) == before

    # Someone altered the sealed copy of one: no verdict about bytes that are not the item's.
    alter_sealed_copy(vault, "altered.mp4")

    scanned = evault(vault, "rescan", **clamav)
    assert scanned.returncode == 1, scanned.stderr  # one infected, one copy not the item's
    assert "does not match its digest" in scanned.stderr, scanned.stderr[-3000:]
    after = state(vault)
    assert after["altered.mp4"] == (ScanStatus.UNSCANNED, [])
    clean_status, (clean_event,) = after["clean.mp4"]
    assert clean_status == ScanStatus.CLEAN
    assert clean_event["status"] == "clean" and clean_event["previous"] == "unscanned"
    assert clean_event["engine"] == "ClamAV clamscan" and clean_event["copy"] == "sealed"
    infected_status, (infected_event,) = after["infected.mp4"]
    assert infected_status == ScanStatus.INFECTED
    assert "Evault.Test.Malware" in str(infected_event["detail"])
    with unit_of_work(vault.app.factory, read_only=True) as session:
        alerts = [(a.kind, a.details["file"]) for a in recent_alerts(session)]
    assert alerts == [("virus_infected", "infected.mp4")]

    clean = next(i for i in vault.items() if i.original_name == "clean.mp4")
    again = evault(vault, "rescan", clean.digest[:12], **clamav)  # scanned already: refused
    assert again.returncode == 3 and "scanned already (clean)" in again.stderr
    assert evault(vault, "--url", "http://127.0.0.1:9", "rescan").returncode == 2  # host-only
    assert state(vault) == after


def test_a_verdict_settles_the_alert_raised_when_the_scanner_failed_at_ingest(
    isolated_env: Path, clip_dir: Path, signatures: Path
) -> None:
    gone = Path(f"{signatures}.gone")  # the scanner fails at ingest: preserved unscanned
    vault = make_vault(isolated_env, virus_scanner="clamscan", clamav_database=gone)
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "clean.mp4")
    infect(put_clip(clip_dir, 1, vault.station_dir / "CAM1" / "infected.mp4"))
    put_clip(clip_dir, 2, vault.station_dir / "CAM1" / "altered.mp4")
    vault.ingest()
    with unit_of_work(vault.app.factory, read_only=True) as session:
        raised = {a.details["file"]: a.kind for a in recent_alerts(session, open_only=True)}
    names = [f"CAM1/{name}.mp4" for name in ("clean", "infected", "altered")]
    assert raised == dict.fromkeys(names, "virus_unscanned")
    alter_sealed_copy(vault, "altered.mp4")

    scanned = evault(vault, "rescan", clamav_database=str(signatures))
    assert scanned.returncode == 1, scanned.stderr  # one infected, one copy not the item's

    after = state(vault)
    with unit_of_work(vault.app.factory, read_only=True) as session:
        everything = recent_alerts(session)
        acts = session.execute(
            select(AdminEvent).where(AdminEvent.action == "alert_acknowledged")
        ).scalars()
        acknowledged = {a.subject: (a.actor, a.data["reason"]) for a in acts}
    unscanned = {
        a.details["file"].removeprefix("CAM1/"): a
        for a in everything
        if a.kind == "virus_unscanned"
    }
    # The altered one has no verdict: its alert stays open for a person.
    assert unscanned["altered.mp4"].acknowledged_at is None
    for name, verdict in (("clean.mp4", "clean"), ("infected.mp4", "infected")):
        alert = unscanned[name]
        (event,) = [e for e in events_for_item(vault, name) if e.kind == EventKind.VIRUS_RESCANNED]
        assert after[name][0] == ScanStatus(verdict)
        assert alert.acknowledged_by == f"cli:{getpass.getuser()}"
        assert alert.acknowledgement is not None
        assert alert.acknowledgement.startswith(f"scanned again: {verdict} (")
        assert alert.acknowledgement.endswith(f"custody entry {event.seq} (virus_rescanned)")
        assert acknowledged[str(alert.id)] == (alert.acknowledged_by, alert.acknowledgement)
    assert len(acknowledged) == 2
    # The infected one's own alert is what a person now acts on.
    assert [(a.kind, a.acknowledged_at) for a in everything if a.kind == "virus_infected"] == [
        ("virus_infected", None)
    ]


def events_for_item(vault: Vault, name: str) -> list[CustodyEvent]:
    item = next(i for i in vault.items() if i.original_name == name)
    with unit_of_work(vault.app.factory, read_only=True) as session:
        return list(events_for(session, item.id))
