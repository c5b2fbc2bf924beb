"""The response that streams a delivery. Starlette drops its body iterator when a client hangs
up and never closes it; closing it here, however the response ends, is what lets the custody
chain say how the delivery ended (complete, interrupted after N bytes, refused)."""

from __future__ import annotations

import base64
from collections.abc import Generator, Mapping
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api.context import AppContext
from api.http.problems import problem
from api.http.ranges import parse_range
from custody.access import requests as access
from custody.access.handover import hand_over
from custody.access.models import Purpose
from vault.errors import RangeNotSatisfiable
from vault.models import User


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


def delivery_response(
    *,
    user: User,
    session: Session,
    context: AppContext,
    request: Request,
    ref: str,
    item: str,
    range_header: str | None,
) -> StreamingResponse | JSONResponse:
    """One item of an approved, unexpired request of ``user``'s, whole or the asked range: the
    JSON API's delivery route and the console's player both answer with this."""
    approved, found = access.authorize_delivery(session, ref=ref, item_ref=item, user=user)
    etag = f'"{found.digest}"'  # strong: the digest names exactly these bytes
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        # RFC 9110 13.1.5: a validator that does not match (a date, or another copy's tag)
        # means the client's part is stale: send the whole object, not the range.
        range_header = None
    try:
        span = (
            None
            if approved.purpose == Purpose.COPY_RENDITION
            else parse_range(range_header, found.size)
        )
    except RangeNotSatisfiable as exc:
        answer = problem(request, 416, "range-not-satisfiable", str(exc))
        answer.headers["Content-Range"] = f"bytes */{found.size}"
        return answer
    handed = hand_over(
        factory=context.factory,
        session=session,
        stores=context.stores,
        request=approved,
        item=found,
        user=user,
        workdir=context.settings.data_dir / "work",
        chunk_size=context.settings.chunk_size,
        byte_range=span,
    )
    disposition = "inline" if handed.inline else "attachment"
    headers = {
        "Accept-Ranges": "none" if approved.purpose == Purpose.COPY_RENDITION else "bytes",
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(handed.filename)}",
        "Cache-Control": "no-store",
    }
    if approved.purpose != Purpose.COPY_RENDITION:
        headers["ETag"] = etag
    if handed.span is None:
        headers["Content-Length"] = str(handed.size)
        encoded = base64.b64encode(bytes.fromhex(handed.digest)).decode()
        headers["Repr-Digest"] = f"sha-256=:{encoded}:"  # RFC 9530: the client can check
        return DeliveryResponse(handed.chunks, media_type=handed.media_type, headers=headers)
    span = handed.span
    headers["Content-Length"] = str(span.length)
    headers["Content-Range"] = f"bytes {span.start}-{span.start + span.length - 1}/{handed.size}"
    return DeliveryResponse(
        handed.chunks, status_code=206, media_type=handed.media_type, headers=headers
    )
