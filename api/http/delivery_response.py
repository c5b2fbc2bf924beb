"""The response that streams a delivery. Starlette drops its body iterator when a client hangs
up and never closes it; closing it here, however the response ends, is what lets the custody
chain say how the delivery ended (complete, interrupted after N bytes, refused)."""

from __future__ import annotations

from collections.abc import Generator, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class DeliveryResponse(StreamingResponse):
    def __init__(
        self,
        content: Generator[bytes, None, None],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(content, status_code=status_code, headers=headers, media_type=media_type)
        self._delivery = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # No next() is running by now: the thread that ran the last one has returned
            # (anyio does not abandon a worker thread on cancellation).
            await run_in_threadpool(self._delivery.close)
