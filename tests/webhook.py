"""A real HTTP endpoint for alert webhooks, on 127.0.0.1: it keeps what it receives and can be
told to fail (answer 503) as a receiver that is down would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    failing: bool = False


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if receiver.failing:
                self.send_response(503)
            else:
                receiver.received.append(Received(dict(self.headers.items()), body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: pytest shows what the assertions need

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/evault"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
