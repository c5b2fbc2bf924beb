"""Retention ends: computed by the rules, stored on the item, recorded in its custody chain,
pushed to the stores, and only ever extended. Flushes only; the caller commits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.log.append import append_event
from custody.log.kinds import EventKind
from retention.models import LegalHold
from retention.policy import current_policy
from retention.rules import (
    CaseFacts,
    ItemFacts,
    RetentionDecision,
    RetentionPolicy,
    decide,
    extends,
    show_end,
)
from vault.derived import derived_digests, sidecar_digests
from vault.models import EvidenceItem, ItemStatus, Rendition
from vault.stores.factory import Stores


def facts_of(item: EvidenceItem) -> ItemFacts:
    case = item.case
    return ItemFacts(
        received_at=item.docked_at,
        categories=frozenset(item.categories or ()),
        case=None
        if case is None
        else CaseFacts(
            number=case.number,
            flags=frozenset(case.flags),
            opened_at=case.opened_at,
            closed_at=case.closed_at,
        ),  # fmt: skip,
    )


def initial_decision(session: Session, *, received_at: datetime) -> RetentionDecision:
    """The end a new recording gets at ingest (no case, no category yet)."""
    facts = ItemFacts(received_at=received_at, categories=frozenset(), case=None)
    return decide(facts, current_policy(session))


def record_initial(
    session: Session, item: EvidenceItem, decision: RetentionDecision, *, actor: str
) -> None:
    """At ingest: the retention_set event naming the rule (the stores already hold the end)."""
    item.retention_rule, item.retention_basis = decision.rule, decision.basis
    append_event(
        session,
        item_id=item.id,
        kind=EventKind.RETENTION_SET,
        actor=actor,
        at=item.ingested_at,
        data={"retain_until": show_end(decision.until), "rule": decision.rule,
              "basis": decision.basis},
    )  # fmt: skip


def active_holds(session: Session, item: EvidenceItem) -> list[LegalHold]:
    return list(
        session.execute(
            select(LegalHold)
            .where(LegalHold.item_id == item.id, LegalHold.released_at.is_(None))
            .order_by(LegalHold.placed_at)
        ).scalars()
    )


def item_objects(session: Session, item: EvidenceItem) -> tuple[list[str], list[str]]:
    """(sealed-store digests, access-store digests) of everything kept for the item: the two
    copies, the station's sidecars (in both stores), the rendition and every derived copy
    (watermarked copies, export clips)."""
    sidecars = sidecar_digests(session, item.id)
    access = [item.digest]
    rendition = session.execute(
        select(Rendition.digest).where(Rendition.item_id == item.id)
    ).scalar_one_or_none()
    if rendition:
        access.append(rendition)
    access += [d for d in [*derived_digests(session, item.id), *sidecars] if d not in access]
    return list(dict.fromkeys([item.digest, *sidecars])), access


def push_to_stores(session: Session, stores: Stores, item: EvidenceItem) -> None:
    """Make every store enforce the item's end (S3 RetainUntilDate; a legal hold when the item
    is permanent or held). Extending first in the stores is safe: if the commit then fails,
    the stores hold the item longer than the database says, never shorter."""
    hold = item.retain_until is None or bool(active_holds(session, item))
    sealed, access = item_objects(session, item)
    for store, digests in ((stores.sealed, sealed), (stores.access, access)):
        for digest in digests:
            if store.exists(digest):
                store.set_retention(digest, until=item.retain_until, hold=hold)


def apply_rules(
    session: Session,
    stores: Stores,
    item: EvidenceItem,
    *,
    actor: str,
    cause: str,
    policy: RetentionPolicy | None = None,
    policy_version: int | None = None,
) -> bool:
    """Recompute the item's end; extend it (never shorten) and record why. True if extended."""
    if item.status != ItemStatus.PRESERVED:
        return False
    decision = decide(facts_of(item), policy or current_policy(session))
    if not extends(item.retain_until, decision.until):
        return False
    extend(
        session, stores, item, until=decision.until, rule=decision.rule, basis=decision.basis,
        actor=actor, cause=cause, policy_version=policy_version,
    )  # fmt: skip
    return True


def extend(
    session: Session,
    stores: Stores,
    item: EvidenceItem,
    *,
    until: datetime | None,
    rule: str,
    basis: str,
    actor: str,
    cause: str,
    policy_version: int | None = None,
) -> None:
    previous = item.retain_until
    if not extends(previous, until):
        raise ValueError("extend() only lengthens retention")  # callers check first
    item.retain_until, item.retention_rule, item.retention_basis = until, rule, basis
    data: dict[str, Any] = {
        "from": show_end(previous), "retain_until": show_end(until), "rule": rule,
        "basis": basis, "cause": cause,
    }  # fmt: skip
    if policy_version is not None:
        data["policy_version"] = policy_version
    append_event(session, item_id=item.id, kind=EventKind.RETENTION_EXTENDED, actor=actor,
                 data=data)  # fmt: skip
    session.flush()
    push_to_stores(session, stores, item)


def preserved_items(session: Session) -> Iterator[EvidenceItem]:
    yield from session.execute(
        select(EvidenceItem).where(EvidenceItem.status == ItemStatus.PRESERVED)
        .order_by(EvidenceItem.ingested_at)
    ).scalars()  # fmt: skip
