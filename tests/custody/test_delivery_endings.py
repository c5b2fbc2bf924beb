"""How a delivery ended is on the custody chain (issue 16, case 5): a download the client cuts
off is recorded as interrupted after the bytes that left, with their digest (real uvicorn, real
socket); an access copy found damaged on the way out is recorded as refused, goes through the
fixity path (fixity_failed, repaired from the sealed copy, an alert), and the requester is told
to ask again, which then succeeds."""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from api.http.app import create_app
from custody.access.models import Purpose
from custody.log.append import events_for
from tests.conftest import Vault, run_cli
from tests.export.exporting import ask, decide
from tests.s3server import free_port
from vault import accounts
from vault.alerts import recent_alerts
from vault.db import unit_of_work
from vault.models import EvidenceItem

SIZE = 30 * 1024 * 1024


@pytest.fixture
def big_item(vault: Vault) -> tuple[EvidenceItem, str, str]:
    """A 30 MiB recording (not playable: evidence all the same), an investigator's token and
    an approved copy_original request for it."""
    path = vault.station_dir / "CAM1" / "long-shift.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for _ in range(SIZE // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    vault.ingest()
    (item,) = vault.items()
    assert item.size == SIZE
    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="li", roles=["investigator"])
        accounts.add_user(session, username="zhao", roles=["approver"])
        token = accounts.issue_token(session, username="li").secret
    number = ask(vault, "li", Purpose.COPY_ORIGINAL, [item])
    decide(vault, number)
    return item, token, number


def chain(vault: Vault, item: EvidenceItem) -> list[tuple[str, dict[str, Any]]]:
    with unit_of_work(vault.app.factory, read_only=True) as session:
        return [(e.kind, dict(e.data)) for e in events_for(session, item.id)]


@pytest.fixture
def server(vault: Vault) -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(create_app(vault.app), host="127.0.0.1", port=port, log_level="info")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port
    running.should_exit = True
    thread.join(timeout=30)


def test_a_download_the_client_cuts_off_is_recorded_as_interrupted(
    vault: Vault, big_item: tuple[EvidenceItem, str, str], server: int
) -> None:
    item, token, number = big_item
    with socket.create_connection(("127.0.0.1", server)) as client:
        client.sendall(
            f"GET /requests/{number}/items/{item.digest[:12]}/content HTTP/1.1\r\n"
            f"Host: vault\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
        received = b""
        while len(received) < 64 * 1024:
            received += client.recv(64 * 1024)
        assert received.startswith(b"HTTP/1.1 200")
        # Hang up hard (RST), as a browser tab closed mid-download does.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    deadline = time.monotonic() + 60
    while not [e for e in chain(vault, item) if e[0] == "delivery_ended"]:
        assert time.monotonic() < deadline, "no delivery_ended entry"
        time.sleep(0.2)
    kinds = [k for k, _ in chain(vault, item)]
    assert kinds[-2:] == ["downloaded", "delivery_ended"]
    started, ended = (d for _, d in chain(vault, item)[-2:])
    assert started["digest"] == item.digest and started["length"] == SIZE  # what was to go
    assert ended["outcome"] == "interrupted" and ended["of_bytes"] == SIZE
    assert 0 <= ended["bytes"] < SIZE  # what went: far less than the whole
    with open(item.access_locator, "rb") as copy:
        sent = copy.read(ended["bytes"])
    assert ended["digest_of_bytes"] == hashlib.sha256(sent).hexdigest()


def test_a_damaged_access_copy_at_delivery_takes_the_fixity_path(
    vault: Vault, big_item: tuple[EvidenceItem, str, str]
) -> None:
    item, token, number = big_item
    os.chmod(item.access_locator, 0o644)
    with open(item.access_locator, "r+b") as copy:  # bit rot in the middle of the access copy
        copy.seek(SIZE // 2)
        byte = copy.read(1)
        copy.seek(SIZE // 2)
        copy.write(bytes([byte[0] ^ 0xFF]))
    out = vault.root / "copy.bin"
    args = ["fetch", number, item.digest[:12], "-o", str(out), "--token", token]
    refused = run_cli(args, vault.env(), vault.root)
    assert refused.returncode == 5, refused.stdout + refused.stderr  # unavailable: try again
    message = " ".join(refused.stderr.split())
    assert "repaired from the other copy" in message and "Ask for it again" in message
    assert not out.exists()  # no partial file that looks like the recording

    after = chain(vault, item)
    kinds = [k for k, _ in after]
    assert kinds[-4:] == ["downloaded", "delivery_ended", "fixity_failed", "repaired"]
    ended = after[-3][1]
    assert ended["outcome"] == "refused" and ended["bytes"] < SIZE
    assert "no longer matches its digest" in ended["detail"]
    assert (after[-2][1]["copy"], after[-1][1]["copy"]) == ("access", "access")
    with unit_of_work(vault.app.factory, read_only=True) as session:
        alerts = [(a.kind, a.level) for a in recent_alerts(session)]
    assert ("delivery_refused", "error") in alerts

    again = run_cli(args, vault.env(), vault.root)  # the requester asks again
    assert again.returncode == 0, again.stdout + again.stderr
    with open(out, "rb") as fetched:
        assert hashlib.file_digest(fetched, "sha256").hexdigest() == item.digest
    last = chain(vault, item)[-1]
    assert last[0] == "delivery_ended" and last[1]["outcome"] == "complete"
    assert last[1]["bytes"] == SIZE and last[1]["digest_of_bytes"] == item.digest
    with unit_of_work(vault.app.factory, read_only=True) as session:
        assert session.execute(select(EvidenceItem.id)).scalars().all() == [item.id]
