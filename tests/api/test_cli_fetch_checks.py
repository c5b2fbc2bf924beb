"""`evault --url … fetch` and `evault --url … export` keep nothing they cannot vouch for: a
transfer that breaks off, bytes that do not hash to the digest the server states, or an answer
stating no digest leave no file behind, each with its exit code. The far end is a real HTTP
server (the standard library's) that misbehaves on purpose, as a broken proxy or a failing link
would."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import run_cli

BODY = b"\x00\x01recording bytes" * 4096
RIGHT = "sha-256=:" + base64.b64encode(hashlib.sha256(BODY).digest()).decode() + ":"
WRONG = "sha-256=:" + base64.b64encode(hashlib.sha256(b"other").digest()).decode() + ":"
pytestmark = pytest.mark.one_database  # no database: the far end is a plain HTTP server


class Misbehaving(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        mode = self.path.split("/")[2]  # /requests/<mode>/items/x/content
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(BODY)))
        if mode != "no-digest":
            self.send_header("Repr-Digest", WRONG if mode == "wrong-digest" else RIGHT)
        self.end_headers()
        self.wfile.write(BODY[: len(BODY) // 2] if mode == "cut" else BODY)
        self.wfile.flush()
        self.close_connection = True

    def do_POST(self) -> None:  # /requests/<mode>/export: the package, as a ZIP
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def far_end() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# What each command asks for: the mode names the misbehaviour (the far end reads it from the path).
COMMANDS = {
    "fetch": lambda mode, out: ["fetch", mode, "x", "-o", out],
    "export": lambda mode, out: ["export", mode, "--zip", "-o", out],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("mode", "code", "said"),
    [
        ("whole", 0, "wrote"),
        ("cut", 5, "broke off"),
        ("wrong-digest", 1, "hash to"),
        ("no-digest", 1, "stated no digest"),
    ],
)
def test_a_download_keeps_only_what_it_checked(
    far_end: str, tmp_path: Path, command: str, mode: str, code: int, said: str
) -> None:
    out = tmp_path / "received"
    asked = COMMANDS[command](mode, str(out))
    done = run_cli(["--url", far_end, *asked, "--token", "evt_t"], {"PATH": "/usr/bin:/bin"},
                   tmp_path)  # fmt: skip
    assert done.returncode == code, done.stderr
    assert said in done.stdout + done.stderr
    if code == 0:
        assert out.read_bytes() == BODY
    else:
        assert not out.exists()  # nothing half-received or unchecked is left
