"""The FTP and SFTP station adapters against real servers on 127.0.0.1 (pyftpdlib, asyncssh):
ingest and acknowledgement, a station that reboots mid-transfer, a file still growing, wrong
credentials, a wrong host key, and `evault doctor`."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.context import open_context
from api.doctor import Status, run_checks
from config.settings import Settings, StationConfig
from custody.log.models import CustodyEvent
from ingest.health import unreachable_stations
from ingest.pipeline import ingest_next
from ingest.runner import make_adapter_for, scan_all
from ingest.stations.base import StationUnavailable
from tests.conftest import Vault, put_clip
from tests.ftpserver import PASSWORD, USER, ftp_server
from tests.sftpserver import sftp_server
from vault.db import unit_of_work, utcnow
from vault.models import Station
from vault.stores.filesystem import FilesystemStore

MiB = 1024 * 1024


KINDS = ["ftp", "sftp"]
Server = Any  # tests.ftpserver.FtpServer or tests.sftpserver.SftpServer


def serve(kind: str, root: Path, *, bytes_per_second: int = 0) -> AbstractContextManager[Server]:
    start = ftp_server if kind == "ftp" else sftp_server
    return start(root, bytes_per_second=bytes_per_second)


def station_config(server: Server, **extra: object) -> StationConfig:
    kind = "sftp" if hasattr(server, "host_key") else "ftp"
    options: dict[str, object] = {
        "name": "st0", "kind": kind, "host": "127.0.0.1", "port": server.port,
        "username": USER, "password": PASSWORD, "timeout_seconds": 5,
        **({"host_key": server.host_key} if kind == "sftp" else {}), **extra,
    }  # fmt: skip
    return StationConfig.model_validate(options)


def adapter(server: Server, **extra: object) -> Any:
    made = make_adapter_for(station_config(server, **extra))
    made.retry_delay = 0.1
    return made


def station_vault(root: Path, server: Server, **extra: object) -> Vault:
    settings = Settings(data_dir=root / "data", settle_seconds=0, virus_scanner="off",
                        stations=[station_config(server, **extra)])  # fmt: skip
    return Vault(root, server.root, settings, open_context(settings, migrate=True))


@pytest.fixture(params=KINDS)
def server(isolated_env: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    with serve(request.param, isolated_env / "station-root") as running:
        yield running


def wait_until_copying(vault: Vault, *, at_least: int, timeout: float = 60) -> None:
    """Until the sealed store's temporary file of the transfer holds ``at_least`` bytes:
    the station can then be cut mid-file however loaded the machine is."""
    assert isinstance(vault.app.stores.sealed, FilesystemStore)
    partial = vault.app.stores.sealed.root / "tmp"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sizes = [p.stat().st_size for p in partial.iterdir()] if partial.is_dir() else []
        if any(size >= at_least for size in sizes):
            return
        time.sleep(0.02)
    raise AssertionError("the transfer never started")


def past(path: Path) -> None:
    """Written a minute ago: settled."""
    moment = time.time() - 60
    os.utime(path, (moment, moment))


def test_ingests_over_ftp_and_moves_to_ingested(
    isolated_env: Path, server: Server, clip_dir: Path
) -> None:
    names = ["CAM1/CAM1_P1001_20261124T093000.mp4", "CAM2/巡逻 记录.mp4"]
    for n, name in enumerate(names):
        past(put_clip(clip_dir, n, server.root / name))
    vault = station_vault(isolated_env, server)
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


def test_acknowledging_moves_sidecars_too_and_never_over_an_earlier_file(
    isolated_env: Path, server: Server, clip_dir: Path
) -> None:
    """The recording and its sidecar go to ingested/; a file of that name already there
    (the station's own) stays, the new one gets a free name."""
    name = "CAM1/CAM1_P1001_20261124T093000.mp4"
    past(put_clip(clip_dir, 0, server.root / name))
    sidecar = server.root / (name + ".json")
    sidecar.write_text('{"officer": "P1001"}')
    past(sidecar)
    earlier = server.root / "ingested" / name
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"the station's own older file")
    vault = station_vault(isolated_env, server)
    try:
        vault.ingest()
        (item,) = vault.items()
        assert earlier.read_bytes() == b"the station's own older file"
        moved = server.root / "ingested" / (name + ".1")
        assert hashlib.sha256(moved.read_bytes()).hexdigest() == item.digest
        assert (server.root / "ingested" / (name + ".json")).read_text() == '{"officer": "P1001"}'
        assert not (server.root / name).exists() and not sidecar.exists()
    finally:
        vault.app.engine.dispose()


def test_acknowledging_by_deleting(isolated_env: Path, server: Server, clip_dir: Path) -> None:
    name = "CAM1/CAM1_P1001_20261124T093000.mp4"
    past(put_clip(clip_dir, 0, server.root / name))
    (server.root / (name + ".json")).write_text("{}")
    past(server.root / (name + ".json"))
    vault = station_vault(isolated_env, server, acknowledge="delete")
    try:
        vault.ingest()
        assert len(vault.items()) == 1
        assert sorted(p.name for p in (server.root / "CAM1").iterdir()) == []
        assert not (server.root / "ingested").exists()
    finally:
        vault.app.engine.dispose()


def test_wrong_credentials_name_the_station_and_never_the_password(server: Server) -> None:
    wrong = adapter(server, password="not-the-password")  # noqa: S106
    with pytest.raises(StationUnavailable) as refused:
        wrong.list_files()
    message = str(refused.value)
    assert "station st0" in message and "refused the login of 'station'" in message
    assert "not-the-password" not in message and PASSWORD not in message


def test_unreachable_station_is_a_clear_error(server: Server) -> None:
    server.stop()  # nothing listens on its port any more
    with pytest.raises(
        StationUnavailable, match=r"station st0: cannot reach the (FTP|SFTP) server"
    ):
        adapter(server).list_files()


def test_an_sftp_station_with_another_host_key_is_refused(isolated_env: Path) -> None:
    """Refused before the password is sent: an impostor never learns it."""
    with sftp_server(isolated_env / "root") as genuine, sftp_server(isolated_env / "r2") as other:
        impostor = adapter(genuine, port=other.port)  # genuine's key pinned, other answers
        with pytest.raises(
            StationUnavailable, match=r"presented host key ssh-ed25519 SHA256:.* refusing to"
        ):
            impostor.list_files()
        assert other.passwords_received == 0
        adapter(genuine).list_files()
        assert genuine.passwords_received == 1


@pytest.mark.parametrize("kind", KINDS)
def test_transfer_resumes_after_the_station_reboots(
    isolated_env: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    data = os.urandom(3 * MiB)
    root = isolated_env / "slow-root"
    (root / "CAM1").mkdir(parents=True)
    (root / "CAM1" / "long.mp4").write_bytes(data)
    with serve(kind, root, bytes_per_second=MiB) as slow:
        station = adapter(slow)
        (listing,) = station.list_files()
        received, restarted = bytearray(), False
        for chunk in station.read(listing, chunk_size=64 * 1024):
            received += chunk
            if not restarted and len(received) >= MiB // 2:
                slow.restart()  # every connection dropped mid-file
                restarted = True
    assert restarted and "station transfer interrupted; resuming" in caplog.messages
    assert len(received) == len(data)  # each byte handed on exactly once
    assert hashlib.sha256(received).digest() == hashlib.sha256(data).digest()


def test_an_sftp_server_that_answers_each_read_short_still_gives_every_byte(
    isolated_env: Path,
) -> None:
    """A server may answer a read with fewer bytes than asked before the end (servers cap
    their answers, 16 KiB here); the recording and a sidecar come whole all the same."""
    root = isolated_env / "short-root"
    (root / "CAM1").mkdir(parents=True)
    data, sidecar = os.urandom(3 * MiB + 5), os.urandom(100 * 1024)
    (root / "CAM1" / "long.mp4").write_bytes(data)
    (root / "CAM1" / "long.mp4.json").write_bytes(sidecar)
    with sftp_server(root) as short:
        short.answer_at_most = 16 * 1024
        station = adapter(short)
        (listing,) = station.list_files()
        received = b"".join(station.read(listing, chunk_size=MiB))
        assert hashlib.sha256(received).digest() == hashlib.sha256(data).digest()
        assert station.read_small(b"CAM1/long.mp4.json", limit=256 * 1024) == sidecar


def test_an_sftp_host_key_that_is_no_key_is_a_clear_error(isolated_env: Path) -> None:
    with sftp_server(isolated_env / "root") as running:
        station = adapter(running, host_key="ssh-ed25519 not-base64")
        with pytest.raises(StationUnavailable, match=r"station st0: host_key is not a public"):
            station.list_files()
        assert running.passwords_received == 0


def test_an_sftp_station_that_stops_answering_mid_file_is_given_up(isolated_env: Path) -> None:
    """A station still connected that never answers again holds a worker no longer than
    its timeout per attempt, and the file is left for a later scan."""
    root = isolated_env / "hung-root"
    (root / "CAM1").mkdir(parents=True)
    (root / "CAM1" / "long.mp4").write_bytes(os.urandom(3 * MiB))
    with sftp_server(root, bytes_per_second=MiB) as hung:
        station = adapter(hung, timeout_seconds=1, transfer_retries=1)
        (listing,) = station.list_files()
        received = bytearray()
        started = time.monotonic()
        with pytest.raises(StationUnavailable, match=r"broke off at byte \d+ of 3145728 2 times"):
            for chunk in station.read(listing, chunk_size=64 * 1024):
                received += chunk
                hung.stalled = True
        assert 0 < len(received) < 3 * MiB
        assert time.monotonic() - started < 20


@pytest.mark.parametrize("kind", KINDS)
def test_reboot_during_ingest_ends_with_exactly_one_correct_item(
    isolated_env: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    data = os.urandom(3 * MiB)
    root = isolated_env / "slow-root"
    (root / "CAM1").mkdir(parents=True)
    (root / "CAM1" / "long.mp4").write_bytes(data)
    past(root / "CAM1" / "long.mp4")
    with serve(kind, root, bytes_per_second=MiB) as slow:
        vault = station_vault(isolated_env, slow)
        try:
            worker = threading.Thread(target=vault.ingest)
            worker.start()
            wait_until_copying(vault, at_least=MiB // 2)
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
    isolated_env: Path, server: Server, clip_dir: Path
) -> None:
    target = server.root / "CAM1" / "live.mp4"
    put_clip(clip_dir, 0, target)
    vault = station_vault(isolated_env, server)
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


def test_doctor_reaches_the_station_or_says_why(isolated_env: Path, server: Server) -> None:
    good = station_config(server)
    bad = station_config(server, name="st1", password_file=isolated_env / "secret", password=None)
    (isolated_env / "secret").write_text("wrong\n")
    settings = Settings(data_dir=isolated_env / "data", stations=[good, bad])
    checks = {c.name: c for c in run_checks(settings)}
    assert checks["station st0"].status == Status.PASS
    assert "reachable" in checks["station st0"].detail
    assert checks["station st1"].status == Status.FAIL
    assert "refused the login" in checks["station st1"].detail
    assert "wrong" not in checks["station st1"].detail


def test_a_network_station_needs_its_host_and_credentials() -> None:
    with pytest.raises(ValueError, match=r"station s1 \(ftp\) needs host, password or"):
        StationConfig.model_validate({"name": "s1", "kind": "ftp", "username": "u"})
    with pytest.raises(ValueError, match=r"station s2 \(sftp\) needs host_key"):
        StationConfig.model_validate(
            {"name": "s2", "kind": "sftp", "host": "h", "username": "u", "password": "p"}
        )


def test_station_health_records_contact_errors_and_alerts(
    isolated_env: Path, server: Server
) -> None:
    vault = station_vault(isolated_env, server)
    try:
        ctx = vault.ingest_context()
        scan_all(ctx)
        with unit_of_work(vault.app.factory) as session:
            (station,) = session.execute(select(Station)).scalars()
            contact = station.last_contact_at
            assert contact is not None and station.last_error is None
        server.stop()  # the station goes away
        scan_all(ctx)
        later = utcnow() + timedelta(hours=2)
        with unit_of_work(vault.app.factory) as session:
            (station,) = session.execute(select(Station)).scalars()
            assert station.last_contact_at == contact
            assert "cannot reach" in (station.last_error or "")
            assert unreachable_stations(session, now=utcnow(), after=timedelta(minutes=30)) == []
            (alert,) = unreachable_stations(session, now=later, after=timedelta(minutes=30))
        assert alert.startswith("station st0 not reached for 2.0 h (last error: station st0")
        server.start()
        scan_all(ctx)
        with unit_of_work(vault.app.factory) as session:
            assert unreachable_stations(session, now=utcnow(), after=timedelta(minutes=30)) == []
    finally:
        vault.app.engine.dispose()


def test_an_sftp_station_reports_its_free_space(isolated_env: Path) -> None:
    """Through the server's statvfs@openssh.com, as OpenSSH offers it."""
    with sftp_server(isolated_env / "station-root") as running:
        vault = station_vault(isolated_env, running)
        try:
            scan_all(vault.ingest_context())
            free = shutil.disk_usage(running.root).free
            with unit_of_work(vault.app.factory) as session:
                (station,) = session.execute(select(Station)).scalars()
                assert station.free_bytes is not None
                assert abs(station.free_bytes - free) < 256 * MiB  # others write meanwhile
        finally:
            vault.app.engine.dispose()


def test_a_mounted_station_reports_its_free_space(vault: Vault) -> None:
    scan_all(vault.ingest_context())
    with unit_of_work(vault.app.factory) as session:
        (station,) = session.execute(select(Station)).scalars()
        assert station.free_bytes is not None and station.free_bytes > 0
        assert station.last_contact_at is not None
