"""Scheduled fixity: every sealed copy, access copy, kept sidecar (in each store), rendition and
derived copy (watermarked copies, export clips) is re-hashed once per cycle (default 90 days),
a slice per run so the work is spread evenly, each result a custody event.

A damaged sealed or access copy (of a recording or of a sidecar) is quarantined and repaired
from the other copy, but only if
that copy still matches the recorded digest; when both are damaged nothing is overwritten and
the item is reported for a person to act on. Renditions and derived copies are not evidence:
a damaged one is quarantined and reported (make a rendition again with `evault render`; a
derived copy was handed out once and its custody event names its digest).
"""

from __future__ import annotations

import logging
import math
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, literal, select
from sqlalchemy.orm import Session

from custody.fixity.models import (
    IN_SEALED_STORE,
    REPAIRED_FROM,
    CopyKind,
    FixityState,
    FixityStatus,
    copy_key,
    kind_of,
)
from custody.log.append import append_event, under_hold
from custody.log.kinds import EventKind
from vault.alert_models import AlertLevel
from vault.alerts import raise_alert
from vault.db import SessionFactory, unit_of_work, utcnow
from vault.errors import Conflict, NotFound, RetentionViolation, StoreError, VaultError
from vault.models import (
    DerivedCopy,
    EvidenceItem,
    ItemSidecar,
    ItemStatus,
    Rendition,
    RenditionStatus,
)
from vault.stores.factory import Stores
from vault.stores.protocol import ObjectStore, Retention, read_chunks, rehash

log = logging.getLogger(__name__)
ACTOR = f"system:fixity@{socket.gethostname()}"


def store_for(stores: Stores, copy: CopyKind) -> ObjectStore:
    return stores.sealed if copy in IN_SEALED_STORE else stores.access


def _untracked(item_id: Any, key: Any) -> Any:
    return ~exists().where(FixityState.item_id == item_id, FixityState.copy == key)


def track_new_objects(session: Session) -> int:
    """Enter into the schedule the copies, made renditions and derived copies not in it yet.
    Only those are read (an anti-join), so an hourly run costs little however large the vault
    grows."""
    added = 0
    for copy in (CopyKind.SEALED, CopyKind.ACCESS):
        new_items = session.execute(
            select(EvidenceItem.id, EvidenceItem.digest, EvidenceItem.size).where(
                EvidenceItem.status == ItemStatus.PRESERVED,
                _untracked(EvidenceItem.id, copy.value),
            )
        ).all()
        for item_id, digest, size in new_items:
            session.add(FixityState(item_id=item_id, copy=copy.value, digest=digest, size=size))
            added += 1
    new_renditions = session.execute(
        select(Rendition.item_id, Rendition.digest, Rendition.size)
        .join(EvidenceItem, EvidenceItem.id == Rendition.item_id)
        .where(
            EvidenceItem.status == ItemStatus.PRESERVED,  # a destroyed item's are deleted
            Rendition.status == RenditionStatus.MADE,
            Rendition.digest.is_not(None),
            _untracked(Rendition.item_id, CopyKind.RENDITION.value),
        )
    ).all()
    for item_id, made_digest, made_size in new_renditions:
        session.add(
            FixityState(
                item_id=item_id,
                copy=CopyKind.RENDITION.value,
                digest=made_digest,
                size=made_size or 0,
            )
        )
        added += 1
    added += _track_derived(session)
    added += _track_sidecars(session)
    session.flush()
    return added


def _track_sidecars(session: Session) -> int:
    added = 0
    for kind in (CopyKind.SIDECAR_SEALED, CopyKind.SIDECAR_ACCESS):
        key = literal(f"{kind.value}:") + ItemSidecar.digest
        new_copies = session.execute(
            select(ItemSidecar.item_id, ItemSidecar.digest, func.max(ItemSidecar.size))
            .join(EvidenceItem, EvidenceItem.id == ItemSidecar.item_id)
            .where(
                EvidenceItem.status == ItemStatus.PRESERVED, _untracked(ItemSidecar.item_id, key)
            )
            .group_by(ItemSidecar.item_id, ItemSidecar.digest)
        ).all()
        for item_id, digest, size in new_copies:
            session.add(
                FixityState(item_id=item_id, copy=copy_key(kind, digest), digest=digest, size=size)
            )
        added += len(new_copies)
    return added


def _track_derived(session: Session) -> int:
    key = literal(f"{CopyKind.DERIVED.value}:") + DerivedCopy.digest
    new_copies = session.execute(
        select(DerivedCopy.item_id, DerivedCopy.digest, func.max(DerivedCopy.size))
        .join(EvidenceItem, EvidenceItem.id == DerivedCopy.item_id)
        .where(EvidenceItem.status == ItemStatus.PRESERVED, _untracked(DerivedCopy.item_id, key))
        .group_by(DerivedCopy.item_id, DerivedCopy.digest)
    ).all()
    for item_id, digest, size in new_copies:
        key_value = copy_key(CopyKind.DERIVED, digest)
        session.add(FixityState(item_id=item_id, copy=key_value, digest=digest, size=size))
    return len(new_copies)


def due(
    session: Session, *, now: datetime, cycle: timedelta, every: timedelta
) -> list[FixityState]:
    """This run's slice: total x (run interval / cycle) objects, least recently checked first,
    so that each object comes round once per cycle."""
    total = session.scalar(select(func.count()).select_from(FixityState)) or 0
    quota = math.ceil(total * (every / cycle)) if total else 0
    return list(
        session.execute(
            select(FixityState)
            .where(
                (FixityState.last_checked_at.is_(None))
                | (FixityState.last_checked_at < now - every)
            )
            .order_by(FixityState.last_checked_at.is_not(None), FixityState.last_checked_at)
            .limit(quota)
        ).scalars()
    )


@dataclass(frozen=True)
class Outcome:
    item_id: uuid.UUID
    copy: CopyKind
    intact: bool
    repaired: bool = False
    detail: str = ""


def _measure(
    store: ObjectStore, digest: str, chunk_size: int, locator: str | None = None
) -> tuple[str | None, int, str]:
    """(actual digest or None if unreadable, size, what went wrong), reading the version the
    locator records when there is one."""
    try:
        actual, size = rehash(store, digest, chunk_size=chunk_size, locator=locator)
    except NotFound as exc:
        return None, 0, "missing" if locator is None else f"missing: {exc}"
    except StoreError as exc:
        return None, 0, f"unreadable: {exc}"
    return actual, size, "" if actual == digest else f"hashes to {actual}"


def recorded_locator(session: Session, item_id: uuid.UUID, copy: CopyKind) -> str | None:
    """Where a recording's own copy was recorded (the exact S3 version); None for the
    other kinds of copy, which are read as they are now."""
    if copy not in (CopyKind.SEALED, CopyKind.ACCESS):
        return None
    item = session.get(EvidenceItem, item_id)
    if item is None:
        return None
    return item.sealed_locator if copy == CopyKind.SEALED else item.access_locator


def _whose(session: Session, actual: str | None) -> str:
    """Words for bytes that are another recording's (an insider's copy over the key)."""
    if actual is None:
        return ""
    other = session.execute(
        select(EvidenceItem.id, EvidenceItem.original_name).where(EvidenceItem.digest == actual)
    ).first()
    return "" if other is None else f": these are the bytes of item {other[0]} ({other[1]})"


def check(
    factory: SessionFactory, stores: Stores, item_id: uuid.UUID, key: str, *, chunk_size: int
) -> Outcome:
    """Re-hash one copy (outside any transaction), record the result, repair if it can.
    ``key`` is the copy's name in the schedule (a CopyKind, or copy_key() of a derived copy)."""
    copy = kind_of(key)
    with unit_of_work(factory, read_only=True) as session:
        state = session.get(FixityState, (item_id, key))
        if state is None:
            raise NotFound(f"{copy} copy of {item_id} is not in the fixity schedule")
        digest, size = state.digest, state.size
        locator = recorded_locator(session, item_id, copy)
    store = store_for(stores, copy)
    actual, found_size, problem = _measure(store, digest, chunk_size, locator)
    intact = actual == digest and found_size == size
    placed = [] if locator is None else _overlays(store, digest, locator)
    with unit_of_work(factory, read_only=True) as session:
        if (
            locator is not None
            and under_hold(session, item_id)
            and not _held(store, digest, locator)
        ):
            placed.append("its legal hold was switched off, though the item is under a hold")
    with unit_of_work(factory) as session:
        state = session.get(FixityState, (item_id, key))
        assert state is not None
        state.last_checked_at = utcnow()
        data: dict[str, Any] = {
            "copy": copy.value, "store": store.name, "digest": digest, "size": size,
            "agent": "evidence-vault fixity (SHA-256)",
        }  # fmt: skip
        if placed:
            data["placed_over"] = placed
            _report_overlays(session, item_id, copy, store.name, placed, intact=intact)
        if intact:
            state.status = FixityStatus.OK.value
            append_event(session, item_id=item_id, kind=EventKind.FIXITY_OK, actor=ACTOR, data=data)
            return Outcome(item_id, copy, intact=True, detail="; ".join(placed))
        state.status = FixityStatus.FAILED.value
        state.quarantined_at = state.quarantined_at or utcnow()
        append_event(
            session, item_id=item_id, kind=EventKind.FIXITY_FAILED, actor=ACTOR,
            data={**data, "found": (problem or f"{found_size} bytes") + _whose(session, actual)},
        )  # fmt: skip
    log.error(
        "fixity check failed: copy quarantined",
        extra={"item": str(item_id), "copy": copy.value, "problem": problem},
    )
    if copy == CopyKind.RENDITION:
        return Outcome(item_id, copy, intact=False, detail="rendition quarantined: re-render it")
    if copy == CopyKind.DERIVED:
        return Outcome(item_id, copy, intact=False, detail="derived copy quarantined")
    return _repair(factory, stores, item_id, copy, digest, chunk_size=chunk_size)


def _held(store: ObjectStore, digest: str, locator: str) -> bool:
    """Whether the recorded version carries a legal hold (a store that enforces no locks has
    none to lose: it counts as held)."""
    try:
        lock = store.retention(digest, locator=locator)
    except (NotFound, StoreError):
        return True  # a missing copy is reported by the check itself
    return lock is None or lock.hold


def _overlays(store: ObjectStore, digest: str, locator: str) -> list[str]:
    try:
        return store.overlays(digest, locator=locator)
    except StoreError as exc:
        return [f"the versions over it could not be listed: {exc}"]


def _report_overlays(
    session: Session,
    item_id: uuid.UUID,
    copy: CopyKind,
    store: str,
    placed: list[str],
    *,
    intact: bool,
) -> None:
    """Something was written over a recorded copy: only someone holding the vault's keys, or
    the server, can have done it. The evidence is the recorded version; say whether it is
    intact, and raise it for a person to look into."""
    state = "the recorded version is intact" if intact else "the recorded version is not"
    raise_alert(
        session,
        key=f"placed-over:{item_id}:{copy.value}:{placed[-1]}",
        kind="store_tampering",
        level=AlertLevel.ERROR,
        message=f"{'; '.join(placed)} on the {copy.value} copy of item {item_id} in the"
        f" {store} store; {state}",
        details={"item": str(item_id), "copy": copy.value, "store": store, "placed": placed},
    )


def _repair(
    factory: SessionFactory,
    stores: Stores,
    item_id: uuid.UUID,
    copy: CopyKind,
    digest: str,
    *,
    chunk_size: int,
) -> Outcome:
    other = REPAIRED_FROM[copy]
    key, other_key = copy_key(copy, digest), copy_key(other, digest)
    source, target = store_for(stores, other), store_for(stores, copy)
    with unit_of_work(factory, read_only=True) as session:
        source_locator = recorded_locator(session, item_id, other)
    # The other copy's recorded version is the source, never whatever lies over it now.
    actual, _, problem = _measure(source, digest, chunk_size, source_locator)
    if actual != digest:
        detail = f"both copies are damaged ({other} {problem}): nothing was overwritten"
        log.critical("no intact copy left", extra={"item": str(item_id), "detail": detail})
        with unit_of_work(factory) as session:
            state = session.get(FixityState, (item_id, other_key))
            if state is not None:
                state.status = FixityStatus.FAILED.value
                state.quarantined_at = state.quarantined_at or utcnow()
        return Outcome(item_id, copy, intact=False, detail=detail)
    with unit_of_work(factory, read_only=True) as session:
        item = session.get(EvidenceItem, item_id)
        assert item is not None
        # The repaired copy carries the item's lock: its end, and a legal hold while the
        # chain records one (a repair must never drop a court's hold).
        retention = Retention(until=item.retain_until, hold=under_hold(session, item_id))
    restored = None
    try:
        with source.open(digest, locator=source_locator) as stream:
            restored = target.restore(digest, read_chunks(stream, chunk_size), retention=retention)
    except Conflict:
        pass  # repaired meanwhile by another worker: still record that it is whole
    except (RetentionViolation, StoreError) as exc:
        detail = f"the {target.name} store refused the repair ({exc}): a person must act"
        log.error("fixity repair refused", extra={"item": str(item_id), "detail": detail})
        return Outcome(item_id, copy, intact=False, detail=detail)
    with unit_of_work(factory) as session:
        state = session.get(FixityState, (item_id, key))
        assert state is not None
        state.status, state.quarantined_at = FixityStatus.REPAIRED.value, None
        data: dict[str, Any] = {"copy": copy.value, "store": target.name, "digest": digest,
                                "from": other.value, "source_store": source.name}  # fmt: skip
        if restored is not None and copy in (CopyKind.SEALED, CopyKind.ACCESS):
            # From now on the repaired version is the one read and checked.
            data["locator"] = restored.locator
            repaired_item = session.get(EvidenceItem, item_id)
            assert repaired_item is not None
            if copy == CopyKind.SEALED:
                repaired_item.sealed_locator = restored.locator
            else:
                repaired_item.access_locator = restored.locator
        append_event(session, item_id=item_id, kind=EventKind.REPAIRED, actor=ACTOR, data=data)
    log.warning("copy repaired", extra={"item": str(item_id), "copy": copy.value})
    return Outcome(item_id, copy, intact=False, repaired=True)


def run_slice(
    factory: SessionFactory,
    stores: Stores,
    *,
    cycle: timedelta,
    every: timedelta,
    chunk_size: int,
    everything: bool = False,
) -> list[Outcome]:
    """One scheduled run (or, with ``everything``, every tracked object now)."""
    now = utcnow()
    with unit_of_work(factory) as session:
        track_new_objects(session)
    with unit_of_work(factory, read_only=True) as session:
        if everything:
            rows = list(session.execute(select(FixityState)).scalars())
        else:
            rows = due(session, now=now, cycle=cycle, every=every)
        work = [(r.item_id, r.copy) for r in rows]
    outcomes = []
    for item_id, copy in work:
        try:
            outcomes.append(check(factory, stores, item_id, copy, chunk_size=chunk_size))
        except VaultError:
            log.exception("fixity check could not run", extra={"item": str(item_id)})
    return outcomes


def quarantined(session: Session) -> list[FixityState]:
    return list(
        session.execute(
            select(FixityState)
            .where(FixityState.quarantined_at.is_not(None))
            .order_by(FixityState.quarantined_at)
        ).scalars()
    )


@dataclass(frozen=True)
class Summary:
    by_status: dict[str, int]
    oldest_check: datetime | None


def summary(session: Session) -> Summary:
    counts = session.execute(
        select(FixityState.status, func.count()).group_by(FixityState.status)
    ).all()
    oldest = session.scalar(select(func.min(FixityState.last_checked_at)))
    return Summary({status: int(n) for status, n in counts}, oldest)


def fixity_alerts(session: Session) -> list[str]:
    alerts: list[str] = []
    count = session.scalar(
        select(func.count()).select_from(FixityState).where(FixityState.quarantined_at.is_not(None))
    )
    if not count:
        return alerts  # the usual answer, from one indexed count: /health asks every time
    alerts.append(
        f"{count} stored cop{'y' if count == 1 else 'ies'} failed fixity and"
        f" {'is' if count == 1 else 'are'} quarantined: `evault fixity status`"
    )
    lost = items_without_intact_copy(session)
    if lost:
        alerts.append(f"{lost} item(s) have no intact copy left: a person must act now")
    return alerts


def items_without_intact_copy(session: Session) -> int:
    sealed, access = FixityState.__table__.alias(), FixityState.__table__.alias()
    return (
        session.scalar(
            select(func.count())
            .select_from(sealed)
            .join(access, and_(sealed.c.item_id == access.c.item_id))
            .where(
                sealed.c.copy == CopyKind.SEALED.value,
                access.c.copy == CopyKind.ACCESS.value,
                sealed.c.quarantined_at.is_not(None),
                access.c.quarantined_at.is_not(None),
            )
        )
        or 0
    )
