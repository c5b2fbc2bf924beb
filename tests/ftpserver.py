"""A real FTP server (pyftpdlib) on 127.0.0.1 for the FTP station tests, in a thread; it can
be stopped and started again on the same port, as a docking station that reboots."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
from pyftpdlib.servers import ThreadedFTPServer

USER, PASSWORD = "station", "dock-s3cret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class FtpServer:
    root: Path
    port: int = field(default_factory=free_port)
    bytes_per_second: int = 0  # 0: unthrottled
    _server: ThreadedFTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(self.root), perm="elradfmwMT")
        dtp = type("Dtp", (ThrottledDTPHandler,), {"write_limit": self.bytes_per_second})
        handler = type(
            "Handler",
            (FTPHandler,),
            {"authorizer": authorizer, "banner": "test docking station",
             **({"dtp_handler": dtp} if self.bytes_per_second else {})},
        )  # fmt: skip
        self._server = ThreadedFTPServer(("127.0.0.1", self.port), handler)
        self._thread = threading.Thread(target=self._serve, args=(self._server,), daemon=True)
        self._thread.start()

    @staticmethod
    def _serve(server: ThreadedFTPServer) -> None:
        # close_all() from another thread pulls the sockets from under the poll loop.
        with contextlib.suppress(OSError):
            server.serve_forever(timeout=0.05)

    def stop(self) -> None:
        """Drop every connection at once, as a station that loses power."""
        if self._server is not None:
            self._server.close_all()
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def ftp_server(root: Path, *, bytes_per_second: int = 0) -> Iterator[FtpServer]:
    root.mkdir(parents=True, exist_ok=True)
    server = FtpServer(root, bytes_per_second=bytes_per_second)
    server.start()
    try:
        yield server
    finally:
        server.stop()
