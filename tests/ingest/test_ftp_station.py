"""The FTP station adapter against a real FTP server (pyftpdlib) on 127.0.0.1: ingest and
acknowledgement, a station that reboots mid-transfer, a file still growing, and wrong
credentials."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from api.context import open_context
from api.doctor import Status, run_checks
from config.settings import Settings, StationConfig
from custody.models import CustodyEvent
from ingest.pipeline import ingest_next
from ingest.runner import scan_all
from ingest.stations.base import StationUnavailable
from ingest.stations.ftp import FtpStation
from tests.conftest import Vault, put_clip
from tests.ftpserver import PASSWORD, USER, FtpServer, ftp_server
from vault.db import unit_of_work

MiB = 1024 * 1024


def station_config(server: FtpServer, **extra: object) -> StationConfig:
    options: dict[str, object] = {
        "name": "ftp0", "kind": "ftp", "host": "127.0.0.1", "port": server.port,
        "username": USER, "password": PASSWORD, "timeout_seconds": 5, **extra,
    }  # fmt: skip
    return StationConfig.model_validate(options)


def ftp_vault(root: Path, server: FtpServer, **extra: object) -> Vault:
    settings = Settings(data_dir=root / "data", settle_seconds=0,
                        stations=[station_config(server, **extra)])  # fmt: skip
    return Vault(root, server.root, settings, open_context(settings, migrate=True))


@pytest.fixture
def server(isolated_env: Path) -> Iterator[FtpServer]:
    with ftp_server(isolated_env / "ftp-root") as running:
        yield running


def past(path: Path) -> None:
    """Written a minute ago: settled."""
    moment = time.time() - 60
    os.utime(path, (moment, moment))


def test_ingests_over_ftp_and_moves_to_ingested(
    isolated_env: Path, server: FtpServer, clip_dir: Path
) -> None:
    names = ["CAM1/CAM1_P1001_20261124T093000.mp4", "CAM2/巡逻 记录.mp4"]
    for n, name in enumerate(names):
        past(put_clip(clip_dir, n, server.root / name))
    vault = ftp_vault(isolated_env, server)
    try:
        vault.ingest()
        items = vault.items()
        assert sorted(i.original_name for i in items) == sorted(Path(n).name for n in names)
        for name in names:
            digest = hashlib.sha256((server.root / "ingested" / name).read_bytes()).hexdigest()
            assert digest in {i.digest for i in items}
            assert not (server.root / name).exists()  # acknowledged only after invariant 1
        with unit_of_work(vault.app.factory) as session:
            sources = {
                e.data["source_path"]
                for e in session.execute(
                    select(CustodyEvent).where(CustodyEvent.kind == "ingested")
                ).scalars()
            }
        assert sources == set(names)
    finally:
        vault.app.engine.dispose()


def test_wrong_credentials_name_the_station_and_never_the_password(server: FtpServer) -> None:
    adapter = FtpStation(station_config(server, password="not-the-password"))  # noqa: S106
    with pytest.raises(StationUnavailable) as refused:
        adapter.list_files()
    message = str(refused.value)
    assert "station ftp0" in message and "refused the login of 'station'" in message
    assert "not-the-password" not in message and PASSWORD not in message


def test_unreachable_station_is_a_clear_error(isolated_env: Path) -> None:
    server = FtpServer(isolated_env)  # never started: nothing listens on its port
    with pytest.raises(StationUnavailable, match="station ftp0: cannot reach the FTP server"):
        FtpStation(station_config(server)).list_files()


def test_transfer_resumes_after_the_station_reboots(
    isolated_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = os.urandom(3 * MiB)
    root = isolated_env / "slow-root"
    (root / "CAM1").mkdir(parents=True)
    (root / "CAM1" / "long.mp4").write_bytes(data)
    with ftp_server(root, bytes_per_second=MiB) as slow:
        adapter = FtpStation(station_config(slow), retry_delay=0.1)
        (listing,) = adapter.list_files()
        received, restarted = bytearray(), False
        for chunk in adapter.read(listing, chunk_size=64 * 1024):
            received += chunk
            if not restarted and len(received) >= MiB // 2:
                slow.restart()  # every connection dropped mid-file
                restarted = True
    assert restarted and "station transfer interrupted; resuming" in caplog.messages
    assert len(received) == len(data)  # each byte handed on exactly once
    assert hashlib.sha256(received).digest() == hashlib.sha256(data).digest()


def test_reboot_during_ingest_ends_with_exactly_one_correct_item(
    isolated_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = os.urandom(3 * MiB)
    root = isolated_env / "slow-root"
    (root / "CAM1").mkdir(parents=True)
    (root / "CAM1" / "long.mp4").write_bytes(data)
    past(root / "CAM1" / "long.mp4")
    with ftp_server(root, bytes_per_second=MiB) as slow:
        vault = ftp_vault(isolated_env, slow)
        try:
            worker = threading.Thread(target=vault.ingest)
            worker.start()
            time.sleep(1.2)  # two scans, then about a third of the file
            slow.restart()
            worker.join(timeout=120)
            assert "station transfer interrupted; resuming" in caplog.messages
            vault.ingest()  # a later pass finds nothing left to do twice
            items = vault.items()
            assert [i.digest for i in items] == [hashlib.sha256(data).hexdigest()]
            assert (root / "ingested" / "CAM1" / "long.mp4").read_bytes() == data
        finally:
            vault.app.engine.dispose()


def test_a_file_still_growing_is_not_taken(
    isolated_env: Path, server: FtpServer, clip_dir: Path
) -> None:
    target = server.root / "CAM1" / "live.mp4"
    put_clip(clip_dir, 0, target)
    vault = ftp_vault(isolated_env, server)
    try:
        ctx = vault.ingest_context()
        scan_all(ctx)
        with open(target, "ab") as growing:
            growing.write(os.urandom(4096))  # the camera is still writing
        scan_all(ctx)
        assert not ingest_next(ctx)
        assert vault.items() == []
        finished = target.read_bytes()
        scan_all(ctx)  # unchanged since the last scan: now it is finished
        assert ingest_next(ctx)
        (item,) = vault.items()
        assert item.digest == hashlib.sha256(finished).hexdigest()
    finally:
        vault.app.engine.dispose()


def test_doctor_reaches_the_station_or_says_why(isolated_env: Path, server: FtpServer) -> None:
    good = station_config(server)
    bad = station_config(server, name="ftp1", password_file=isolated_env / "secret", password=None)
    (isolated_env / "secret").write_text("wrong\n")
    settings = Settings(data_dir=isolated_env / "data", stations=[good, bad])
    checks = {c.name: c for c in run_checks(settings)}
    assert checks["station ftp0"].status == Status.PASS
    assert "reachable" in checks["station ftp0"].detail
    assert checks["station ftp1"].status == Status.FAIL
    assert "refused the login" in checks["station ftp1"].detail
    assert "wrong" not in checks["station ftp1"].detail


def test_a_network_station_needs_its_host_and_credentials() -> None:
    with pytest.raises(ValueError, match=r"station s1 \(ftp\) needs host, password or"):
        StationConfig.model_validate({"name": "s1", "kind": "ftp", "username": "u"})
