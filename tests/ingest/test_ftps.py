"""FTPS stations against a real TLS FTP server (pyftpdlib with pyOpenSSL, TLS required on
the control and the data connections): the server's certificate is verified against the
configured CA and its address, never accepted blindly."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.runner import make_adapter_for, run_once
from ingest.stations.base import StationUnavailable
from tests.conftest import put_clip
from tests.ftpserver import FtpServer, ftp_server
from tests.ingest.test_network_stations import station_config, station_vault
from tests.tls import ServerTls, server_tls

# TLS verification is the adapter's, before any row is written; the database-specific ingest
# of network stations runs on both in test_network_stations.py.
pytestmark = pytest.mark.one_database


@pytest.fixture
def tls(tmp_path: Path) -> ServerTls:
    return server_tls(tmp_path / "tls")


@pytest.fixture
def ftps(isolated_env: Path, tls: ServerTls) -> Iterator[FtpServer]:
    with ftp_server(isolated_env / "station", tls=(tls.certificate, tls.key)) as server:
        yield server


def test_ingests_over_ftps_with_the_units_ca(
    isolated_env: Path, clip_dir: Path, ftps: FtpServer, tls: ServerTls
) -> None:
    clip = put_clip(clip_dir, 0, ftps.root / "CAM1" / "CAM1_P7_20261130T080000.mp4")
    truth = hashlib.sha256(clip.read_bytes()).hexdigest()
    v = station_vault(isolated_env, ftps, kind="ftps", tls_ca_file=tls.ca)
    run_once(v.ingest_context(), workers=1)
    (item,) = v.items()
    assert item.digest == truth
    assert (ftps.root / "ingested" / "CAM1" / "CAM1_P7_20261130T080000.mp4").exists()
    v.app.engine.dispose()


def test_an_unknown_certificate_is_refused(ftps: FtpServer) -> None:
    """Without the unit's CA the server is a stranger (the system CAs do not know it)."""
    station = make_adapter_for(station_config(ftps, kind="ftps"))
    with pytest.raises(StationUnavailable, match=r"st0.*CERTIFICATE_VERIFY_FAILED") as caught:
        station.list_files()
    assert "dock-s3cret" not in str(caught.value)


def test_a_certificate_for_another_address_is_refused(ftps: FtpServer, tmp_path: Path) -> None:
    """A certificate from a trusted CA, issued for another address, does not vouch for
    this one."""
    other = server_tls(tmp_path / "other", ip="10.9.9.9")
    with ftp_server(tmp_path / "root2", tls=(other.certificate, other.key)) as impostor:
        station = make_adapter_for(station_config(impostor, kind="ftps", tls_ca_file=other.ca))
        with pytest.raises(StationUnavailable, match="IP address mismatch"):
            station.list_files()


def test_an_unreadable_ca_file_is_a_clear_error(ftps: FtpServer, tmp_path: Path) -> None:
    station = make_adapter_for(
        station_config(ftps, kind="ftps", tls_ca_file=tmp_path / "missing.pem")
    )
    with pytest.raises(StationUnavailable, match="st0: cannot read its tls_ca_file"):
        station.list_files()
