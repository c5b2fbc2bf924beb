"""Bodies are not read before they are allowed (issue 17): an unauthenticated 200 MiB body
is refused with 413 (by its length) or 401 (chunked), unread, by a real server whose memory
does not grow; a malformed body without a valid token is a 401, not a 422."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Api
from tests.conftest import Vault
from tests.ingest.test_daemon import wait_for
from tests.s3server import free_port
from vault import accounts
from vault.db import unit_of_work

pytestmark = pytest.mark.one_database  # memory and HTTP framing, whatever the database
HUGE = 200 * 1024 * 1024


def test_no_body_is_parsed_before_the_token_is_checked(api: Api) -> None:
    malformed = b'{"items": ["abc"], "purpose": '
    json_type = {"Content-Type": "application/json"}
    for headers in ({}, {"Authorization": "Bearer evt_not-a-token"}):
        answer = api.client.post("/requests", content=malformed, headers=json_type | headers)
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"] == "Bearer"
    with_token = api.client.post(
        "/requests", content=malformed, headers=json_type | api.as_role("investigator")
    )
    assert with_token.status_code == 422  # only now is the body read


def test_a_body_over_the_limit_is_a_413_with_or_without_a_token(api: Api) -> None:
    big = b'{"reason": "' + b"x" * (1024 * 1024) + b'"}'
    for headers in ({}, api.as_role("investigator")):
        answer = api.client.post(
            "/requests", content=big, headers={"Content-Type": "application/json", **headers}
        )
        assert answer.status_code == 413, answer.text
        assert "at most 1048576 bytes" in answer.json()["detail"]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send_huge(port: int, head: bytes, chunked: bool) -> bytes:
    """Send the head, then up to 200 MiB of body as fast as the server takes it; the answer."""
    piece = b"x" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(head)
        try:
            for _ in range(HUGE // len(piece)):
                client.sendall(b"100000\r\n" + piece + b"\r\n" if chunked else piece)
        except OSError:
            pass  # the server answered and closed without reading the rest: as it should
        client.settimeout(30)
        answer = b""
        try:
            while chunk := client.recv(65536):
                answer += chunk
        except OSError:
            pass
        return answer


@pytest.fixture
def server(vault: Vault) -> Iterator[tuple[int, int, str]]:
    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="li", roles=["investigator"])
        token = accounts.issue_token(session, username="li").secret
    port = free_port()
    log = open(vault.root / "server.log", "wb")  # noqa: SIM115 - closed below
    env = vault.env() | {"EVAULT_API_PORT": str(port), "EVAULT_SCAN_INTERVAL_SECONDS": "60"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main"], env=env, cwd=vault.root,
        stdout=log, stderr=log,
    )  # fmt: skip

    def answers() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 401
        except httpx.TransportError:
            return False

    try:
        wait_for(answers)
        yield port, proc.pid, token
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_a_real_server_refuses_a_200_mib_body_unread(server: tuple[int, int, str]) -> None:
    port, pid, token = server
    time.sleep(1)
    idle = _rss_kib(pid)
    by_length = _send_huge(
        port,
        b"POST /requests HTTP/1.1\r\nHost: vault\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {HUGE}\r\n\r\n".encode(),
        chunked=False,
    )
    assert by_length.startswith(b"HTTP/1.1 413"), by_length[:200]
    chunked_head = (
        b"POST /requests HTTP/1.1\r\nHost: vault\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n"
    )
    anonymous = _send_huge(port, chunked_head + b"\r\n", chunked=True)
    assert anonymous.startswith(b"HTTP/1.1 401"), anonymous[:200]
    with_token = _send_huge(
        port, chunked_head + f"Authorization: Bearer {token}\r\n\r\n".encode(), chunked=True
    )
    assert with_token.startswith(b"HTTP/1.1 413"), with_token[:200]
    grown = _rss_kib(pid) - idle
    print(f"server RSS idle {idle} KiB, grew by {grown} KiB over three 200 MiB bodies")
    assert grown < 20 * 1024


def test_a_token_in_a_query_string_is_not_logged(
    vault: Vault, server: tuple[int, int, str]
) -> None:
    port, _, token = server
    answer = httpx.get(f"http://127.0.0.1:{port}/items?access_token={token}&limit=5")
    assert answer.status_code == 401  # only the header authenticates
    httpx.get(f"http://127.0.0.1:{port}/items", headers={"Authorization": f"Bearer {token}"})
    time.sleep(0.5)
    logged = (vault.root / "server.log").read_text()
    assert "GET /items" in logged  # the access log is on
    assert token not in logged and "access_token" not in logged
