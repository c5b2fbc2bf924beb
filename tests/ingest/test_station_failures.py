"""One station's failure is its own: an FTP station that refuses to move ingested files into
ingested/ (as one that rebooted between commit and acknowledgement, or whose account may not
rename) never stops the other stations, and its failure is logged, kept as the station's last
error and retried on every scan."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from api.context import open_context
from config.settings import Settings, StationConfig
from ingest.models import FileState, StationFile
from tests.conftest import Vault, put_clip
from tests.ftpserver import PASSWORD, USER, ftp_server
from tests.ingest.test_network_stations import past
from vault.db import unit_of_work
from vault.models import Station

NO_RENAME = "elradmwMT"  # pyftpdlib: everything but "f" (rename)


def test_a_station_refusing_the_move_stops_only_itself(
    isolated_env: Path, clip_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    local_dir = isolated_env / "local-station"
    local_dir.mkdir()
    with ftp_server(isolated_env / "ftp-root", perm=NO_RENAME) as ftp:
        settings = Settings(
            data_dir=isolated_env / "data", settle_seconds=0, virus_scanner="off",
            stations=[
                StationConfig(name="ftp0", kind="ftp", host="127.0.0.1", port=ftp.port,
                              username=USER, password=PASSWORD, timeout_seconds=5),
                StationConfig(name="local0", path=local_dir),
            ],
        )  # fmt: skip
        vault = Vault(isolated_env, local_dir, settings, open_context(settings, migrate=True))
        try:
            past(put_clip(clip_dir, 0, ftp.root / "CAM1" / "a.mp4"))
            put_clip(clip_dir, 1, local_dir / "CAM2" / "b.mp4")
            with caplog.at_level(logging.ERROR):
                vault.ingest()
            assert sorted(i.original_name for i in vault.items()) == ["a.mp4", "b.mp4"]
            assert (ftp.root / "CAM1" / "a.mp4").exists()  # kept: the move was refused
            assert not (local_dir / "CAM2" / "b.mp4").exists()  # the other station acknowledged
            assert any(
                r.getMessage() == "station acknowledgement failed; will retry"
                and getattr(r, "station", None) == "ftp0"
                for r in caplog.records
            )
            with unit_of_work(vault.app.factory) as session:
                ftp0 = session.execute(select(Station).where(Station.name == "ftp0")).scalar_one()
                assert ftp0.last_error is not None and "CAM1/a.mp4" in ftp0.last_error
                states = dict(
                    session.execute(select(StationFile.rel_path, StationFile.state)).all()
                )
            assert states["CAM1/a.mp4"] == FileState.INGESTED  # safe, awaiting acknowledgement

            # Later scans go on for everyone; the refused move is tried again each time.
            put_clip(clip_dir, 2, local_dir / "CAM2" / "c.mp4")
            caplog.clear()
            with caplog.at_level(logging.ERROR):
                vault.ingest()
            assert sorted(i.original_name for i in vault.items()) == ["a.mp4", "b.mp4", "c.mp4"]
            assert any(getattr(r, "station", None) == "ftp0" for r in caplog.records)

            ftp.perm = "elradfmwMT"  # the station lets the vault move files again
            ftp.restart()
            vault.ingest()
            assert (ftp.root / "ingested" / "CAM1" / "a.mp4").exists()
            assert not (ftp.root / "CAM1" / "a.mp4").exists()
        finally:
            vault.app.engine.dispose()
