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
from pyftpdlib.ioloop import IOLoop
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
    # FTPS: (certificate chain, key) files; TLS is then required on control and data.
    tls: tuple[Path, Path] | None = None
    # pyftpdlib permissions: without "f" the server refuses every rename (a station's move).
    perm: str = "elradfmwMT"
    # Downloads under way now, and the most there ever were at once (station limits).
    sending: int = 0
    peak_sending: int = 0
    _server: ThreadedFTPServer | None = None
    _thread: threading.Thread | None = None
    _count_lock: threading.Lock = field(default_factory=threading.Lock)

    def _sending(self, change: int) -> None:
        with self._count_lock:
            self.sending += change
            self.peak_sending = max(self.peak_sending, self.sending)

    def start(self) -> None:
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(self.root), perm=self.perm)
        dtp = type("Dtp", (ThrottledDTPHandler,), {"write_limit": self.bytes_per_second})
        server = self

        base: type = FTPHandler
        if self.tls is not None:
            from pyftpdlib.handlers import TLS_FTPHandler  # noqa: PLC0415 - needs pyOpenSSL

            base = type("TlsBase", (TLS_FTPHandler,), {
                "certfile": str(self.tls[0]), "keyfile": str(self.tls[1]),
                "tls_control_required": True, "tls_data_required": True,
            })  # fmt: skip

        class Handler(base):  # type: ignore[misc,valid-type]  # pyftpdlib is untyped
            def ftp_RETR(self, file: str) -> str | None:
                started: str | None = super().ftp_RETR(file)
                if started is not None:  # None: refused (no such file), nothing sent
                    server._sending(+1)
                return started

            def on_file_sent(self, file: str) -> None:
                server._sending(-1)

            def on_incomplete_file_sent(self, file: str) -> None:
                server._sending(-1)

        Handler.authorizer, Handler.banner = authorizer, "test docking station"
        if self.bytes_per_second:
            Handler.dtp_handler = dtp
        # An IOLoop of its own: pyftpdlib's default is one per process, so two servers (a
        # station and an impostor) would run one loop from two threads and break it.
        self._server = ThreadedFTPServer(("127.0.0.1", self.port), Handler, ioloop=IOLoop())
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
def ftp_server(
    root: Path,
    *,
    bytes_per_second: int = 0,
    tls: tuple[Path, Path] | None = None,
    perm: str = "elradfmwMT",
) -> Iterator[FtpServer]:
    root.mkdir(parents=True, exist_ok=True)
    server = FtpServer(root, bytes_per_second=bytes_per_second, tls=tls, perm=perm)
    server.start()
    try:
        yield server
    finally:
        server.stop()
