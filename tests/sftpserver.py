"""A real SFTP server (asyncssh) on 127.0.0.1 for the SFTP station tests, on its own event
loop in a thread, chrooted to a directory, with password logins. Like the FTP one it can drop
every connection and come back on the same port, and it can send slowly."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from tests.ftpserver import PASSWORD, USER, free_port


class _Server(asyncssh.SSHServer):
    def __init__(self, owner: SftpServer) -> None:
        self.owner = owner

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.owner.connections.append(conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self.owner.passwords_received += 1
        return username == USER and password == PASSWORD


@dataclass
class SftpServer:
    root: Path
    port: int = field(default_factory=free_port)
    bytes_per_second: int = 0  # 0: unthrottled
    link_free_at: float = 0.0  # event-loop time when the throttled link is next free
    connections: list[Any] = field(default_factory=list)
    passwords_received: int = 0  # logins tried, whatever their outcome
    stalled: bool = False  # reads wait forever, as a station whose disk hangs
    answer_at_most: int = 0  # each read answered with at most this many bytes (0: as asked)
    key: Any = field(default_factory=lambda: asyncssh.generate_private_key("ssh-ed25519"))
    _loop: asyncio.AbstractEventLoop | None = None
    _listener: Any = None
    _thread: threading.Thread | None = None

    @property
    def host_key(self) -> str:
        """The public key as known_hosts and the station's host_key setting hold it."""
        return str(self.key.export_public_key("openssh").decode().strip())

    def _sftp(self, chan: Any) -> asyncssh.SFTPServer:
        rate, server = self.bytes_per_second, self

        class Throttled(asyncssh.SFTPServer):
            async def read(self, file_obj: Any, offset: int, size: int) -> bytes:
                if server.stalled:  # connected, and never answers a read again
                    await asyncio.Event().wait()
                if rate:
                    # One link for the whole station: concurrent (pipelined) reads queue
                    # behind each other instead of each getting the full rate.
                    # Sleeps only once 10 ms ahead: a sleep per 32 KiB request would cost
                    # more than the link itself.
                    loop = asyncio.get_running_loop()
                    start = max(loop.time(), server.link_free_at)
                    server.link_free_at = start + size / rate
                    ahead = server.link_free_at - loop.time()
                    if ahead > 0.01:
                        await asyncio.sleep(ahead)
                if server.answer_at_most:
                    size = min(size, server.answer_at_most)
                return bytes(super().read(file_obj, offset, size))

        return Throttled(chan, chroot=str(self.root).encode())

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def listen() -> Any:
            return await asyncssh.listen(
                "127.0.0.1", self.port, server_host_keys=[self.key],
                server_factory=lambda: _Server(self), sftp_factory=self._sftp,
                allow_scp=False, reuse_address=True,
            )  # fmt: skip

        self._listener = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(timeout=30)

    def stop(self) -> None:
        """Drop every connection at once, as a station that loses power."""
        if self._loop is None:
            return
        loop = self._loop

        async def close() -> None:
            self._listener.close()
            for conn in self.connections:
                conn.abort()
            self.connections.clear()
            await self._listener.wait_closed()
            # Session handlers still running would be destroyed pending with the loop.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        loop.close()
        self._loop = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def sftp_server(root: Path, *, bytes_per_second: int = 0) -> Iterator[SftpServer]:
    root.mkdir(parents=True, exist_ok=True)
    server = SftpServer(root, bytes_per_second=bytes_per_second)
    server.start()
    try:
        yield server
    finally:
        server.stop()
