"""What an export asks for, and the check that an approved, unexpired export request covers
it. Refusals happen here, before a single file is written."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.access.delivery import refuse_if_infected
from custody.access.models import AccessRequest, Purpose
from custody.access.requests import authorize_delivery, find_request
from custody.access.watermark import made_rendition
from vault.errors import AccessDenied, InputRejected, NotFound
from vault.items import find_item
from vault.models import EvidenceItem, ItemStatus, MediaStatus, Rendition, RenditionStatus, User


@dataclass(frozen=True)
class ClipSpec:
    """A time range of one recording, in seconds from its start."""

    item: str  # item id or digest prefix
    start: float
    end: float

    @classmethod
    def parse(cls, text: str) -> ClipSpec:
        """``ITEM@START-END`` (seconds, e.g. ``3f2a9c@12.5-40``)."""
        item, at, span = text.rpartition("@")
        start_text, dash, end_text = span.partition("-")
        try:
            start, end = float(start_text), float(end_text)
        except ValueError:
            start = end = math.nan
        if not at or not item or not dash or math.isnan(start) or math.isnan(end):
            raise InputRejected(
                f"a clip is ITEM@START-END in seconds (e.g. 3f2a9c@12.5-40), not {text!r}"
            )
        return cls(item, start, end)


@dataclass(frozen=True)
class ExportSpec:
    request: str  # the access request number (purpose "export")
    items: Sequence[str] = ()  # empty: every item of the request
    clips: Sequence[ClipSpec] = ()
    watermark: bool = False  # renditions with the recipient burned in
    recipient: str = ""  # defaults to the request's organisation
    reason: str = ""  # default: the request's reason


@dataclass(frozen=True)
class Authorized:
    request: AccessRequest
    items: list[EvidenceItem]
    clips: list[tuple[EvidenceItem, ClipSpec]]
    recipient: str


def _duration_s(item: EvidenceItem) -> float | None:
    return item.duration_ms / 1000 if item.duration_ms else None


def _check_clip(item: EvidenceItem, clip: ClipSpec) -> None:
    if not (math.isfinite(clip.start) and math.isfinite(clip.end)):
        raise InputRejected(f"clip of {item.id}: start and end must be finite numbers of seconds")
    if not 0 <= clip.start < clip.end:
        raise InputRejected(
            f"clip of {item.id}: start {clip.start} must be >= 0 and before end {clip.end}"
        )
    length = _duration_s(item)
    if length is not None and clip.start >= length:
        raise InputRejected(
            f"clip of {item.id} starts at {clip.start} s, after the recording ends ({length:.3f} s)"
        )
    if item.media_status != MediaStatus.PROBED:
        raise InputRejected(
            f"item {item.id} could not be read as video, so no clip can be cut from it"
        )


def _refuse_controls(field: str, text: str, *, allowed: str) -> None:
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
        raise InputRejected(
            f"the {field} holds a control character (NUL, ESC, a line break …): not allowed"
        )


def _refuse_unrendered(session: Session, item: EvidenceItem) -> None:
    status = session.execute(
        select(Rendition.status).where(Rendition.item_id == item.id)
    ).scalar_one_or_none()
    if status != RenditionStatus.FAILED:  # a failed one: the original goes on its own
        made_rendition(session, item)


def authorize_export(session: Session, spec: ExportSpec, user: User) -> Authorized:
    """The request, items and clips of an export, or the exact reason it is refused."""
    # The recipient is one line of bag-info.txt, signed in the manifest: no line breaks.
    _refuse_controls("recipient", spec.recipient, allowed="")
    _refuse_controls("reason", spec.reason, allowed="\t\n")
    request = find_request(session, spec.request)
    if request.purpose != Purpose.EXPORT:
        raise AccessDenied(
            f"request {request.number} is for {request.purpose.value}, not export:"
            " ask for an export request (purpose export) and have it approved"
        )
    refs = list(spec.items) or [str(i.id) for i in request.items]
    named = [find_item(session, ref) for ref in refs]
    destroyed = [i for i in named if i.status != ItemStatus.PRESERVED]
    if destroyed:
        raise NotFound(
            "destroyed items cannot be exported (only their tombstone remains): "
            + ", ".join(str(i.id) for i in destroyed)
        )
    for item in named:
        refuse_if_infected(item)
        # Checked here, before the first exported entry is written: refused at the rendition
        # step, the chain would carry an export and its abandonment for a package never made.
        if item.media_status != MediaStatus.UNREADABLE:
            _refuse_unrendered(session, item)
    items: dict[object, EvidenceItem] = {}
    for ref in refs:
        _, item = authorize_delivery(session, ref=request.number, item_ref=ref, user=user)
        items[item.id] = item
    clips = []
    for clip in spec.clips:
        _, item = authorize_delivery(session, ref=request.number, item_ref=clip.item, user=user)
        if item.id not in items:
            raise InputRejected(f"the clip's item {item.id} is not among the exported items")
        _check_clip(item, clip)
        clips.append((item, clip))
    if not items:
        raise NotFound(f"request {request.number} names no item to export")
    recipient = (spec.recipient or request.organisation).strip()
    if not spec.recipient:  # a request made before organisations were kept to one line
        _refuse_controls("request's organisation (name the recipient instead)", recipient,
                         allowed="")  # fmt: skip
    if not recipient:
        raise InputRejected(
            "name the recipient (the court, procuratorate or party receiving the package)"
        )
    ordered = sorted(items.values(), key=lambda i: (i.ingested_at, str(i.id)))
    return Authorized(request, ordered, clips, recipient)
