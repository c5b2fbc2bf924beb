"""Derived copies as rows: recorded the moment a derivative is stored, in its own unit of work,
so no later refusal or failure can leave stored bytes that nothing in the database names."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.db import SessionFactory, unit_of_work
from vault.models import DerivedCopy, DerivedKind
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
    rows = session.execute(
        select(DerivedCopy.digest)
        .where(DerivedCopy.item_id == item_id)
        .order_by(DerivedCopy.made_at)
    ).scalars()
    return list(dict.fromkeys(rows))
