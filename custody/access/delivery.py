"""The one function that hands stored bytes to a person (invariant 3).

It appends the custody event (actor, reason, request, digest of exactly the bytes delivered)
and commits it before the first byte is yielded. Nothing else in the code base opens a store
on a person's behalf; a test enforces that.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from custody.log.append import append_event
from custody.log.kinds import DELIVERY_KINDS, EventKind
from vault.db import SessionFactory, unit_of_work
from vault.errors import AccessDenied, IntegrityViolation, NotFound
from vault.models import EvidenceItem, ItemStatus, ScanStatus
from vault.stores.protocol import ObjectStore, StoredObject


@dataclass(frozen=True)
class ByteRange:
    start: int
    length: int


def _read_range(
    store: ObjectStore, digest: str, span: ByteRange, chunk_size: int
) -> Iterator[bytes]:
    with store.open(digest) as stream:
        stream.seek(span.start)
        remaining = span.length
        while remaining > 0:
            chunk = stream.read(min(chunk_size, remaining))
            if not chunk:
                raise IntegrityViolation(f"object {digest} ended {remaining} bytes early")
            remaining -= len(chunk)
            yield chunk


def _digest_of(chunks: Iterator[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.hexdigest()


def refuse_if_infected(item: EvidenceItem) -> None:
    if item.scan_status == ScanStatus.INFECTED and not item.scan_released_by:
        raise AccessDenied(
            f"item {item.id} was flagged infected by the virus check ({item.scan_detail}); it is"
            " preserved but not handed out unless an approver records why it must be:"
            " `evault virus release ITEM -m WHY`"
        )


def refuse_if_undeliverable(item: EvidenceItem) -> None:
    """What every delivery checks first: the item is still preserved and not withheld by
    the virus check. Callers that make something for a delivery (a watermarked copy) check
    it before making anything; deliver() checks it again under its own unit of work."""
    if item.status != ItemStatus.PRESERVED:
        raise NotFound(f"item {item.id} is {item.status.value}; nothing to deliver")
    refuse_if_infected(item)


def deliver(
    factory: SessionFactory,
    *,
    store: ObjectStore,
    item_id: uuid.UUID,
    kind: EventKind,
    actor: str,
    reason: str,
    request: str | None = None,
    byte_range: ByteRange | None = None,
    chunk_size: int = 1024 * 1024,
    derived: StoredObject | None = None,
    details: dict[str, str] | None = None,
) -> Iterator[bytes]:
    """Yield the bytes of an item's object; the custody event is durable before the first.

    ``derived`` serves an object made from the item instead (a watermarked copy of its
    rendition); the event names the item and records the digest of the derived bytes.
    """
    if kind not in DELIVERY_KINDS:
        raise ValueError(f"{kind} is not a delivery")
    if not reason.strip():
        raise ValueError("a delivery needs a reason (查阅事由)")
    with unit_of_work(factory) as session:
        item = session.get(EvidenceItem, item_id)
        if item is None:
            raise NotFound(f"no item {item_id}")
        refuse_if_undeliverable(item)
        digest, size = item.digest, item.size
    if derived is not None:
        digest, size = derived.digest, derived.size
    span = byte_range or ByteRange(0, size)
    if span.start < 0 or span.length < 0 or span.start + span.length > size:
        raise ValueError(f"range {span.start}+{span.length} is outside the object ({size} bytes)")
    # A whole object's digest is its name; a part's digest has to be measured first.
    delivered = (
        digest if byte_range is None else _digest_of(_read_range(store, digest, span, chunk_size))
    )
    with unit_of_work(factory) as session:
        append_event(
            session,
            item_id=item_id,
            kind=kind,
            actor=actor,
            reason=reason,
            data={
                "digest": delivered,
                "offset": span.start,
                "length": span.length,
                "store": store.name,
                "request": request,
                **(details or {}),
            },
            commit_chain=kind == EventKind.EXPORTED,
        )
    return _verified_stream(store, digest, span, delivered, chunk_size)


def _verified_stream(
    store: ObjectStore, digest: str, span: ByteRange, expected: str, chunk_size: int
) -> Iterator[bytes]:
    # The last chunk is held back until the digest checks out, so damaged bytes never reach
    # the recipient as a complete file that looks genuine.
    hasher = hashlib.sha256()
    held: bytes | None = None
    for chunk in _read_range(store, digest, span, chunk_size):
        hasher.update(chunk)
        if held is not None:
            yield held
        held = chunk
    if hasher.hexdigest() != expected:
        raise IntegrityViolation(
            f"{store.name} object {digest} no longer matches its digest; delivery aborted"
        )
    if held is not None:
        yield held
