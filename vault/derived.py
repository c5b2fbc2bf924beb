"""Objects kept for an item beside its two copies, as rows: derived copies (recorded the moment
a derivative is stored, in its own unit of work, so no later refusal or failure can leave
stored bytes that nothing in the database names) and the station's sidecar files."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from vault.db import SessionFactory, unit_of_work
from vault.models import DerivedCopy, DerivedKind, EvidenceItem, ItemSidecar, ItemStatus
from vault.stores.protocol import StoredObject


def record_derived(
    factory: SessionFactory,
    *,
    item_id: uuid.UUID,
    kind: DerivedKind,
    stored: StoredObject,
    made_for: str,
) -> None:
    with unit_of_work(factory) as session:
        session.add(
            DerivedCopy(
                item_id=item_id,
                kind=kind.value,
                digest=stored.digest,
                size=stored.size,
                made_for=made_for,
            )
        )


def derived_digests(session: Session, item_id: uuid.UUID) -> list[str]:
    """Every distinct derived object of the item, oldest first."""
    return _distinct(session, select(DerivedCopy.digest).where(DerivedCopy.item_id == item_id)
                     .order_by(DerivedCopy.made_at))  # fmt: skip


def sidecar_digests(session: Session, item_id: uuid.UUID) -> list[str]:
    """Every distinct sidecar kept with the item, first received first."""
    return _distinct(session, select(ItemSidecar.digest).where(ItemSidecar.item_id == item_id)
                     .order_by(ItemSidecar.received_at))  # fmt: skip


def _distinct(session: Session, query: Select[str]) -> list[str]:
    return list(dict.fromkeys(session.execute(query).scalars()))


def sidecars_kept_by_others(
    session: Session, digests: list[str], leaving: list[uuid.UUID]
) -> set[str]:
    """Of ``digests``, those another preserved item's sidecar also is (two stations can write
    the same bytes, "{}" say): destroying one item must not take the other's."""
    if not digests:
        return set()
    rows = session.execute(
        select(ItemSidecar.digest)
        .join(EvidenceItem, EvidenceItem.id == ItemSidecar.item_id)
        .where(
            ItemSidecar.digest.in_(digests),
            ItemSidecar.item_id.not_in(leaving),
            EvidenceItem.status == ItemStatus.PRESERVED,
        )
    ).scalars()
    return set(rows)
