"""The virus check before archiving, with a real ClamAV (clamscan) and a signature database
the test writes (ClamAV needs no official database for that). An infected recording is still
preserved and sealed, flagged, and never rendered, delivered or exported until an approver's
release is on its custody chain. A scanner that cannot run holds files or lets them in
marked unscanned, as configured, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from custody.access.delivery import deliver
from custody.access.models import Purpose
from custody.access.virus_release import release_infected
from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from ingest.models import StationFile
from ingest.renditions import render_pending
from tests.conftest import Vault, make_vault, put_clip
from tests.export.exporting import ask, decide
from tests.malware import MARKER, infect
from vault import accounts
from vault.alerts import recent_alerts
from vault.db import unit_of_work
from vault.errors import AccessDenied
from vault.models import EvidenceItem, Rendition, ScanStatus, User
from vault.stores.protocol import rehash


def events(vault: Vault, item: EvidenceItem) -> list[CustodyEvent]:
    with unit_of_work(vault.app.factory) as session:
        return list(
            session.execute(
                select(CustodyEvent)
                .where(CustodyEvent.item_id == item.id)
                .order_by(CustodyEvent.seq)
            ).scalars()
        )


def test_infected_recording_is_preserved_flagged_and_withheld_until_released(
    isolated_env: Path, clip_dir: Path, signatures: Path
) -> None:
    vault = make_vault(isolated_env, virus_scanner="clamscan", clamav_database=signatures)
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "clean.mp4")
    infect(put_clip(clip_dir, 1, vault.station_dir / "CAM1" / "infected.mp4"))
    vault.ingest()
    items = {i.original_name: i for i in vault.items()}
    clean, infected = items["clean.mp4"], items["infected.mp4"]
    assert (clean.scan_status, infected.scan_status) == (ScanStatus.CLEAN, ScanStatus.INFECTED)
    assert "Evault.Test.Malware" in (infected.scan_detail or "")
    for store in (vault.app.stores.sealed, vault.app.stores.access):  # preserved all the same
        assert rehash(store, infected.digest)[0] == infected.digest
    ingested = events(vault, infected)[0]
    assert ingested.data["virus_scan"]["status"] == "infected"
    assert ingested.data["virus_scan"]["engine"] == "ClamAV clamscan"
    with unit_of_work(vault.app.factory) as session:  # the custodian is alerted, once
        alerts = [(a.kind, a.level, a.details["item"]) for a in recent_alerts(session)]
    assert alerts == [("virus_infected", "error", str(infected.id))]

    render_pending(vault.ingest_context())
    with unit_of_work(vault.app.factory) as session:
        rendered = set(session.execute(select(Rendition.item_id)).scalars())
    assert clean.id in rendered and infected.id not in rendered

    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="li", roles=["investigator"])
        accounts.add_user(session, username="zhao", roles=["approver"])
    number = ask(vault, "li", Purpose.COPY_ORIGINAL, [infected])
    decide(vault, number)

    def download() -> bytes:
        return b"".join(
            deliver(vault.app.factory, store=vault.app.stores.access, item_id=infected.id,
                    kind=EventKind.DOWNLOADED, actor="user:li", reason="case", request=number)
        )  # fmt: skip

    with pytest.raises(AccessDenied, match="flagged infected by the virus check"):
        download()
    assert [e.kind for e in events(vault, infected)].count("downloaded") == 0

    with unit_of_work(vault.app.factory) as session:
        zhao = session.execute(select(User).where(User.username == "zhao")).scalar_one()
        release_infected(
            session,
            ref=str(infected.id),
            approver=zhao,
            reason="court ordered the file as received",
        )
    assert download().endswith(MARKER)
    kinds = [e.kind for e in events(vault, infected)]
    assert kinds.index("virus_override") < kinds.index("downloaded")
    render_pending(vault.ingest_context())  # released: now it gets its rendition
    with unit_of_work(vault.app.factory) as session:
        assert session.get(EvidenceItem, infected.id) is not None
        assert infected.id in set(session.execute(select(Rendition.item_id)).scalars())
    vault.app.engine.dispose()


@pytest.mark.parametrize("policy", ["ingest_unscanned", "hold"])
def test_a_missing_scanner_is_never_silent(
    isolated_env: Path, clip_dir: Path, policy: str, caplog: pytest.LogCaptureFixture
) -> None:
    vault = make_vault(
        isolated_env,
        virus_scanner="clamscan",
        scanner_unavailable=policy,
        clamscan_path=str(isolated_env / "no-such-clamscan"),
    )
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "clip.mp4")
    vault.ingest()
    if policy == "ingest_unscanned":
        (item,) = vault.items()
        assert item.scan_status == ScanStatus.UNSCANNED
        assert "scanner unavailable" in (item.scan_detail or "")
        assert "cannot run" in (item.scan_detail or "")
        assert "recording preserved without a clean virus check" in caplog.messages
    else:
        assert vault.items() == []
        with unit_of_work(vault.app.factory) as session:
            (row,) = session.execute(select(StationFile)).scalars()
        assert "virus check impossible, file held on the station" in (row.last_error or "")
        assert (vault.station_dir / "CAM1" / "clip.mp4").exists()
    vault.app.engine.dispose()


def test_scanning_off_marks_recordings_unscanned(isolated_env: Path, clip_dir: Path) -> None:
    vault = make_vault(isolated_env, virus_scanner="off")
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "clip.mp4")
    vault.ingest()
    (item,) = vault.items()
    assert item.scan_status == ScanStatus.UNSCANNED
    assert item.scan_detail == "virus scanning is off (virus_scanner = off)"
    vault.app.engine.dispose()


def test_exporting_an_infected_recording_is_refused(
    isolated_env: Path, clip_dir: Path, signatures: Path, tmp_path: Path
) -> None:
    from export.package import ExportJob, export  # noqa: PLC0415
    from export.spec import ExportSpec  # noqa: PLC0415

    vault = make_vault(isolated_env, virus_scanner="clamscan", clamav_database=signatures)
    infect(put_clip(clip_dir, 1, vault.station_dir / "CAM1" / "infected.mp4"))
    vault.ingest()
    (item,) = vault.items()
    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="li", roles=["investigator"])
        accounts.add_user(session, username="zhao", roles=["approver"])
    number = ask(vault, "li", Purpose.EXPORT, [item])
    decide(vault, number)
    with unit_of_work(vault.app.factory) as session:
        li = session.execute(select(User).where(User.username == "li")).scalar_one().id
    job = ExportJob(vault.app.factory, vault.app.stores, vault.settings)
    with pytest.raises(AccessDenied, match="flagged infected"):
        export(job, ExportSpec(request=number), user_id=li, target=tmp_path / "p", as_zip=False)
    assert not (tmp_path / "p").exists()
    vault.app.engine.dispose()


@pytest.mark.one_database  # the scanner check never reads the database
def test_doctor_runs_the_scanner(isolated_env: Path, signatures: Path) -> None:
    from api.doctor import Status, run_checks  # noqa: PLC0415
    from config.settings import Settings  # noqa: PLC0415

    def verdict(**options: object) -> tuple[Status, str]:
        settings = Settings(data_dir=isolated_env / "data", **options)  # type: ignore[arg-type]
        found = next(c for c in run_checks(settings) if c.name == "virus scanner")
        return found.status, found.detail

    assert verdict(clamav_database=signatures) == (
        Status.PASS,
        "ClamAV clamscan: no signature matched",
    )
    missing = {"clamscan_path": str(isolated_env / "none")}
    assert verdict(**missing)[0] == Status.WARN
    status, detail = verdict(**missing, scanner_unavailable="hold")
    assert status == Status.FAIL and "files are held on the stations" in detail
    assert verdict(virus_scanner="off")[0] == Status.WARN
