"""The suite's S3 server starts even when another process takes one of its ports first: the
ports are picked free, but nothing reserves them for weed, and a failed start there failed
every S3 test of the worker that started it."""

from __future__ import annotations

import socket
from pathlib import Path

from tests import s3server


def test_distinct_free_ports_are_distinct() -> None:
    ports = s3server.distinct_free_ports(len(s3server.PORT_NAMES))
    assert len(set(ports)) == len(s3server.PORT_NAMES)


def test_a_port_taken_before_weed_binds_it_starts_weed_again(tmp_path: Path) -> None:
    picked: list[list[int]] = []
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    def picked_then_taken(count: int) -> list[int]:
        ports = s3server.distinct_free_ports(count)
        if not picked:  # another process takes the filer's port of the first choice
            squatter.bind(("127.0.0.1", ports[s3server.PORT_NAMES.index("filer.port")]))
            squatter.listen()
        picked.append(ports)
        return ports

    with squatter:
        server = s3server.start_server(tmp_path / "weed", pick_ports=picked_then_taken)
        try:
            assert server.client().list_buckets()["Buckets"] == []  # type: ignore[attr-defined]
        finally:
            server.stop()
    assert len(picked) == 2
