"""`evault export`: a court submission package that anyone can verify offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.requests import ReasonOption, TokenOption, _me
from api.cli.shared import console, context, err
from vault.roles import Role

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class _Bar:
    """Rich progress for each stage of the export (bytes where they can be counted)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def stage(self, description: str, total: int | None) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total or 0)
            self.progress.stop_task(self.task)
        self.task = self.progress.add_task(description, total=total)

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)


def export_command(
    number: Annotated[str, typer.Argument(help="Your approved request of purpose export.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="The package to write: a new directory, or a new file with --zip."
        ),
    ],
    items: Annotated[
        list[str],
        typer.Option("--item", help="Only these items of the request (id or digest prefix)."),
    ] = [],  # noqa: B006 - typer needs a literal default
    clips: Annotated[
        list[str],
        typer.Option(
            "--clip",
            help="Also a clip of a time range, ITEM@START-END in seconds (e.g. 3f2a9c@12-40);"
            " repeatable.",
        ),
    ] = [],  # noqa: B006
    watermark: Annotated[
        bool, typer.Option(help="Burn the recipient and export number into the renditions.")
    ] = False,
    recipient: Annotated[
        str, typer.Option(help="Who receives it (default: the request's organisation).")
    ] = "",
    as_zip: Annotated[bool, typer.Option("--zip", help="Write one ZIP file.")] = False,
    token: TokenOption = "",
    reason: ReasonOption = "",
) -> None:
    """Export recordings with their chain of custody as a BagIt package (investigator).

    The package holds the originals (read from the sealed store and checked against their
    recorded digests while copying), the standard renditions, any clips, each item's full
    custody chain with Merkle inclusion proofs and the signed checkpoint, a signed bilingual
    chain-of-custody report with its certification (data/report.pdf), and data/verify.py,
    which checks all of it with nothing but Python:

        evault request ITEM --purpose export --for procuratorate --document LETTER -m WHY
        (an approver approves it)
        evault export AR-20261130-1A2B3C -o case-117.zip --zip --clip 3f2a9c@12-40
        unzip case-117.zip && python case-117/data/verify.py

    Every file handed over is an exported custody event. An export without an approved,
    unexpired export request, or of a destroyed item, is refused and writes nothing.

    Through --url the vault builds the package and sends it as one ZIP (give --zip): it is
    written to a new file, checked against the SHA-256 the vault states, and removed if it
    differs or the transfer breaks off.
    """
    from api.cli.shared import remote_url
    from export.spec import ClipSpec

    parsed_clips = [ClipSpec.parse(c) for c in clips]
    if remote_url():
        body = {
            "items": items, "watermark": watermark, "recipient": recipient, "reason": reason,
            "clips": [{"item": c.item, "start": c.start, "end": c.end} for c in parsed_clips],
        }  # fmt: skip
        _remote_export(number, body, out, token, as_zip=as_zip)
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    # bagit, reportlab and pyHanko load only for an export (every evault command's start-up).
    from export.package import ExportJob, export
    from export.spec import ExportSpec
    from vault.db import unit_of_work

    app = context()
    spec = ExportSpec(
        request=number,
        items=items,
        clips=parsed_clips,
        watermark=watermark,
        recipient=recipient,
        reason=reason,
    )
    with unit_of_work(app.factory, read_only=True) as session:
        user_id = _me(session, token, Role.INVESTIGATOR).id
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, TransferSpeedColumn(), TimeRemainingColumn(), console=err) as bars:
        result = export(
            ExportJob(app.factory, app.stores, app.settings),
            spec,
            user_id=user_id,
            target=out,
            as_zip=as_zip,
            progress=_Bar(bars),
        )
    stamp = "with a time stamp" if result.report_signed_with_time_stamp else "(no TSA set)"
    console.print(
        f"wrote {result.path}: export {result.number}, {result.items} item(s),"
        f" {result.files} file(s), {result.payload_bytes:,} bytes; custody proven into the"
        f" checkpoint of {result.checkpoint_size} entries; report signed {stamp}.\n"
        f"The recipient checks it with: python data/verify.py (inside the package)",
        soft_wrap=True,
    )


def _remote_export(
    number: str, body: dict[str, object], out: Path, token: str, *, as_zip: bool
) -> None:
    """The package from the vault's API as one ZIP, into a new file, checked against the
    digest the vault states (RFC 9530 Repr-Digest); nothing is left if the check fails."""
    from api.cli.downloads import new_file, receive
    from api.cli.remote import ApiClient, segment
    from api.cli.shared import remote_url
    from vault.errors import InputRejected, IntegrityViolation

    if not as_zip:
        raise InputRejected("through --url the package comes as one ZIP file: add --zip")
    with new_file(out, refusal="an export never overwrites a file") as target:
        api = ApiClient(remote_url() or "", token)
        with err.status(f"the vault is building the package of {number}…"):
            size, stated, chunks = api.download(
                f"/requests/{segment(number)}/export", body=body, timeout=EXPORT_TIMEOUT_S
            )
        if stated is None:
            chunks.close()
            raise IntegrityViolation(
                "the vault stated no digest for the package: the file was removed"
            )
        digest = receive(
            target, chunks, size=size, label=out.name, stated=stated,
            what="the bytes of the package received",
        )  # fmt: skip
    console.print(
        f"wrote {out}: export {chunks.headers.get('x-export-number', '?')}, {size:,} bytes,"
        f" sha256 {digest}.\n"
        "The recipient checks it with: python data/verify.py (inside the package)",
        soft_wrap=True,
    )


EXPORT_TIMEOUT_S = 3600.0  # the vault builds the whole package before the first byte
