"""Court exports over HTTP: the package is built for the requester and streamed back as one
ZIP. Every file in it was recorded as an exported custody event while it was built; the ZIP
is removed from the server once sent (the vault keeps evidence in its stores, not in
scattered packages)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from api.context import AppContext
from api.http.deps import app_context
from api.http.export_schemas import ExportIn
from api.http.problems import PROBLEM_SCHEMA
from api.http.work import Work, work_for
from export.spec import ClipSpec, ExportSpec
from vault.models import Role

router = APIRouter(
    tags=["court exports"],
    responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA},
)
# The export runs units of work of its own: the caller is authenticated in one that only
# reads, which on SQLite takes no write lock.
Exporter = Annotated[Work, Depends(work_for(Role.INVESTIGATOR, read_only=True))]
Context = Annotated[AppContext, Depends(app_context)]


def _streamed(path: Path, folder: Path, chunk_size: int) -> Iterator[bytes]:
    try:
        with open(path, "rb") as package:
            while chunk := package.read(chunk_size):
                yield chunk
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@router.post(
    "/requests/{ref}/export",
    operation_id="export_request",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        200: {
            "content": {"application/zip": {}},
            "description": "The BagIt package as a ZIP; unzip it and run data/verify.py",
        },
        409: PROBLEM_SCHEMA,
        422: PROBLEM_SCHEMA,
    },
)
async def post_export(
    work: Exporter, context: Context, ref: str, body: ExportIn
) -> StreamingResponse:
    """Export the items of your approved, unexpired request of purpose `export` as a BagIt
    package (originals checked against their digests, renditions, clips with frame hashes,
    custody chains with inclusion proofs and the signed checkpoint, the signed bilingual
    report, data/verify.py). Large exports are better run with `evault export` on the
    server: the response starts only when the package is complete."""
    return await work(
        lambda _, user: export_response(user_id=user.id, context=context, ref=ref, body=body)
    )


def export_response(
    *, user_id: uuid.UUID, context: AppContext, ref: str, body: ExportIn
) -> StreamingResponse:
    """Build the package of request ``ref`` for its requester and stream it as one ZIP (the
    JSON API's export route and the console's export button both answer with this)."""
    # bagit, reportlab and pyHanko load only for an export (a lighter API start-up).
    from export.package import ExportJob, export, new_number  # noqa: PLC0415

    settings = context.settings
    number = new_number(settings.display_timezone)
    folder = settings.data_dir / "work" / f"export-{uuid.uuid4()}"
    folder.mkdir(parents=True)
    target = folder / f"{number}.zip"
    spec = ExportSpec(
        request=ref, items=body.items, watermark=body.watermark, recipient=body.recipient,
        reason=body.reason, clips=[ClipSpec(c.item, c.start, c.end) for c in body.clips],
    )  # fmt: skip
    try:
        export(ExportJob(context.factory, context.stores, settings), spec, user_id=user_id,
               target=target, as_zip=True, number=number)  # fmt: skip
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    with open(target, "rb") as made:  # the client checks what it receives against this
        digest = hashlib.file_digest(made, "sha256").digest()
    return StreamingResponse(
        _streamed(target, folder, settings.chunk_size),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{number}.zip"',
            "Content-Length": str(target.stat().st_size),
            "Repr-Digest": f"sha-256=:{base64.b64encode(digest).decode()}:",  # RFC 9530
            "X-Export-Number": number,
        },
    )
