"""The one function that hands stored bytes to a person (invariant 3).

It appends the custody event (actor, reason, request, digest of exactly the bytes delivered)
and commits it before the first byte is yielded, and for a view or download a second entry
when it ends, saying how: complete, interrupted after N bytes, or refused because the copy
failed its re-hash. Nothing else in the code base opens a store on a person's behalf; a test
enforces that.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from custody.fixity.checks import check, track_new_objects
from custody.fixity.models import CopyKind, copy_key, kind_of
from custody.log.append import append_event
from custody.log.kinds import DELIVERY_KINDS, EventKind
from vault.alert_models import AlertLevel
from vault.alerts import raise_alert
from vault.db import SessionFactory, unit_of_work
from vault.errors import (
    AccessDenied,
    DeliveryAborted,
    IntegrityViolation,
    NotFound,
    VaultError,
)
from vault.models import EvidenceItem, ItemStatus, ScanStatus
from vault.stores.factory import Stores
from vault.stores.protocol import ObjectStore, StoredObject


@dataclass(frozen=True)
class ByteRange:
    start: int
    length: int


def _read_range(
    store: ObjectStore, digest: str, span: ByteRange, chunk_size: int, locator: str | None
) -> Iterator[bytes]:
    with store.open(digest, locator=locator) as stream:
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
    stores: Stores | None = None,
) -> Generator[bytes, None, None]:
    """Yield the bytes of an item's object; the custody event is durable before the first.

    ``derived`` serves an object made from the item instead (a watermarked copy of its
    rendition); the event names the item and records the digest of the derived bytes.

    A view or download also gets a delivery_ended entry saying how it ended, however it ends
    (close the generator when done with it). A copy that fails its re-hash on the way out is
    handed to the fixity path (``stores`` lets it repair from the other copy) and the caller
    gets DeliveryAborted: ask again.
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
        # The recording's own copy is read at the version recorded when it was stored: a
        # version placed over it since is not the evidence. (A locator of the other store
        # names another bucket, and the store then reads what it holds now.)
        locator: str | None = (
            item.sealed_locator if stores is not None and store is stores.sealed
            else item.access_locator
        )  # fmt: skip
    if derived is not None:
        digest, size, locator = derived.digest, derived.size, None
    span = byte_range or ByteRange(0, size)
    if span.start < 0 or span.length < 0 or span.start + span.length > size:
        raise ValueError(f"range {span.start}+{span.length} is outside the object ({size} bytes)")
    # A whole object's digest is its name; a part's digest has to be measured first.
    delivered = (
        digest
        if byte_range is None
        else _digest_of(_read_range(store, digest, span, chunk_size, locator))
    )
    with unit_of_work(factory) as session:
        started = append_event(
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
        seq = started.seq
    stream = _verified_stream(store, digest, span, delivered, chunk_size, locator=locator)
    if kind == EventKind.EXPORTED:
        return stream  # an export ends in its package's exported entries, or export_abandoned
    copy = (
        copy_key(CopyKind.DERIVED, digest)
        if derived is not None
        else (CopyKind.SEALED if stores is not None and store is stores.sealed else CopyKind.ACCESS)
    )
    begun = Begun(item_id, seq, actor, store.name, copy, span.length, chunk_size)
    return _ended_on_record(factory, stream, begun, stores)


@dataclass(frozen=True)
class Begun:
    """A view or download whose entry is on the chain, for the entry that says how it ended."""

    item_id: uuid.UUID
    seq: int
    actor: str
    store: str
    copy: str  # its key in the fixity schedule
    length: int
    chunk_size: int  # for the re-hash if the copy turns out damaged


def _ended_on_record(
    factory: SessionFactory,
    stream: Iterator[bytes],
    begun: Begun,
    stores: Stores | None,
) -> Generator[bytes, None, None]:
    # A chunk counts as handed over once the consumer asks for the next one (or for the end):
    # a recipient that hangs up while one is in flight never got it whole.
    handed, hasher, recorded = 0, hashlib.sha256(), False
    ending: dict[str, Any] = {
        "outcome": "interrupted",
        "detail": "the recipient stopped reading before the end (connection closed)",
    }
    try:
        for chunk in stream:
            yield chunk
            handed += len(chunk)
            hasher.update(chunk)
        ending = {"outcome": "complete", "detail": "every byte handed over; digest checked"}
    except IntegrityViolation as exc:
        _record_end(factory, begun, handed, hasher, {"outcome": "refused", "detail": str(exc)})
        recorded = True
        note = _fixity_after_damage(factory, stores, begun)
        raise DeliveryAborted(
            f"the delivery was stopped after {handed} of {begun.length} bytes: {exc}. {note}"
            " Ask for it again."
        ) from None
    except VaultError as exc:
        ending = {"outcome": "interrupted", "detail": f"the store failed mid-read: {exc}"}
        raise
    finally:
        if not recorded:
            _record_end(factory, begun, handed, hasher, ending)


def _record_end(
    factory: SessionFactory,
    begun: Begun,
    handed: int,
    hasher: Any,
    ending: dict[str, Any],
) -> None:
    with unit_of_work(factory) as session:
        append_event(
            session,
            item_id=begun.item_id,
            kind=EventKind.DELIVERY_ENDED,
            actor=begun.actor,
            data={
                **ending,
                "of": begun.seq,
                "bytes": handed,
                "of_bytes": begun.length,
                "digest_of_bytes": hasher.hexdigest(),
            },
        )


def _fixity_after_damage(factory: SessionFactory, stores: Stores | None, begun: Begun) -> str:
    """The fixity check of the copy that failed on the way out: fixity_failed, quarantine and
    a repair from the other copy where there is one, and an alert for the custodian."""
    if stores is None:
        note = "The copy awaits the scheduled fixity check."
    else:
        with unit_of_work(factory) as session:
            track_new_objects(session)  # a copy made since the last fixity run
        try:
            outcome = check(factory, stores, begun.item_id, begun.copy, chunk_size=begun.chunk_size)
        except VaultError as exc:
            note = f"The fixity check could not run ({exc})."
        else:
            note = (
                "The copy was repaired from the other copy."
                if outcome.repaired
                else f"Fixity recorded it: {outcome.detail or 'quarantined'}."
            )
    with unit_of_work(factory) as session:
        raise_alert(
            session,
            key=f"delivery-refused:{begun.seq}",
            kind="delivery_refused",
            level=AlertLevel.ERROR,
            message=f"a damaged {kind_of(begun.copy)} copy of item {begun.item_id} was found"
            f" while delivering it (custody entry {begun.seq}). {note}",
            details={"item": str(begun.item_id), "of": begun.seq, "store": begun.store},
        )
    return note


def _verified_stream(
    store: ObjectStore,
    digest: str,
    span: ByteRange,
    expected: str,
    chunk_size: int,
    *,
    locator: str | None,
) -> Generator[bytes, None, None]:
    # The last chunk is held back until the digest checks out, so damaged bytes never reach
    # the recipient as a complete file that looks genuine.
    hasher = hashlib.sha256()
    held: bytes | None = None
    for chunk in _read_range(store, digest, span, chunk_size, locator):
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
