"""What the vault keeps forever stays kept: permanent items' objects, checkpoint notes and
their time stamps, destruction registers. A scheduled job (weekly in the daemon) re-applies
their forever lock, which on S3 pushes the far COMPLIANCE date out again once half of it has
passed, and puts back a checkpoint copy that is gone (from the database, when it verifies).
Anything found missing is said in words and raised as an alert for a person."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from custody.log.checkpoints import keep_checkpoints_sealed
from retention.ends import push_to_stores
from retention.models import AppraisalBatch
from vault.alert_models import AlertLevel
from vault.alerts import raise_alert
from vault.db import SessionFactory, unit_of_work, utcnow
from vault.errors import NotFound
from vault.models import EvidenceItem, ItemStatus
from vault.stores.factory import Stores


@dataclass
class Kept:
    items: int = 0
    registers: int = 0
    problems: list[str] = field(default_factory=list)


def keep_forever(factory: SessionFactory, stores: Stores) -> Kept:
    kept = Kept()
    with unit_of_work(factory, read_only=True) as session:
        permanent = list(
            session.execute(
                select(EvidenceItem.id).where(
                    EvidenceItem.status == ItemStatus.PRESERVED,
                    EvidenceItem.retain_until.is_(None),
                )
            ).scalars()
        )
        registers = session.execute(
            select(AppraisalBatch.number, AppraisalBatch.register_digest).where(
                AppraisalBatch.register_digest.is_not(None)
            )
        ).all()
    for item_id in permanent:
        with unit_of_work(factory, read_only=True) as session:
            item = session.get(EvidenceItem, item_id)
            if item is None:
                continue
            try:
                push_to_stores(session, stores, item)  # a permanent item's lock is forever
            except NotFound as exc:
                kept.problems.append(f"permanent item {item_id}: {exc}")
        kept.items += 1
    for number, digest in registers:
        assert digest is not None  # filtered in the query
        if stores.sealed.exists(digest):
            stores.sealed.set_retention(digest, until=None, hold=True)
            kept.registers += 1
        else:
            kept.problems.append(
                f"the destruction register of batch {number} ({digest}) is gone from the sealed"
                " store; restore it from a backup of the register (its digest is above)"
            )
    kept.problems += keep_checkpoints_sealed(factory, stores.sealed)
    if kept.problems:
        with unit_of_work(factory) as session:
            raise_alert(
                session,
                key=f"kept-forever:{utcnow():%Y-%m-%d}",
                kind="kept_forever",
                level=AlertLevel.ERROR,
                message="; ".join(kept.problems),
                details={"problems": kept.problems},
            )
    return kept
