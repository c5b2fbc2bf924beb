"""What can move a retention end: a policy edit, a case closing or gaining a flag, an item
joining a case or gaining a category. Each only ever extends. Flushes only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from custody.admin.log import append_admin
from custody.log.append import append_event
from custody.log.kinds import EventKind
from retention.ends import apply_rules, facts_of, preserved_items
from retention.policy import PolicyPreview, current_policy, new_version
from retention.rules import RetentionPolicy, decide, extends
from vault.cases import attach_items, find_case
from vault.db import utcnow
from vault.errors import Conflict, InputRejected, RetentionViolation
from vault.items import find_item
from vault.models import Case, CaseFlag, EvidenceItem, ItemStatus, User
from vault.stores.factory import Stores


@dataclass(frozen=True)
class PolicyEdit:
    version: int
    extended: int


def preview_policy(session: Session, policy: RetentionPolicy) -> PolicyPreview:
    """Compare, item by item, the end the new policy gives with the one the current gives."""
    old = current_policy(session)
    shortened = extended = 0
    for item in preserved_items(session):
        facts = facts_of(item)
        before, after = decide(facts, old), decide(facts, policy)
        if extends(after.until, before.until):
            shortened += 1
        elif extends(item.retain_until, after.until):
            extended += 1
    return PolicyPreview(shortened=shortened, extended=extended)


def edit_policy(
    session: Session, stores: Stores, policy: RetentionPolicy, *, user: User, reason: str
) -> PolicyEdit:
    """A new policy version. Refused, with the count, if it would give any existing item an
    earlier end than the policy in force; otherwise applied to the items it extends."""
    if not reason.strip():
        raise InputRejected("a policy change needs a reason: it goes on the record")
    preview = preview_policy(session, policy)
    if preview.shortened:
        raise RetentionViolation(
            f"refused: this policy would shorten the retention of {preview.shortened} existing"
            " item(s); retention only grows, so nothing was changed"
        )
    version = new_version(session, policy, actor=user.username, reason=reason)
    append_admin(session, actor=f"user:{user.username}", action="policy_changed",
                 subject=f"retention policy version {version.version}",
                 data={"reason": reason})  # fmt: skip
    extended = 0
    for item in preserved_items(session):
        extended += apply_rules(
            session, stores, item, actor=f"user:{user.username}",
            cause=f"retention policy version {version.version}: {reason}",
            policy=policy, policy_version=version.version,
        )  # fmt: skip
    return PolicyEdit(version=version.version, extended=extended)


def _reapply(session: Session, stores: Stores, case: Case, *, user: User, cause: str) -> int:
    session.flush()
    session.refresh(case)
    return sum(
        apply_rules(session, stores, item, actor=f"user:{user.username}", cause=cause)
        for item in case.items
    )


def close_case(session: Session, stores: Stores, number: str, *, user: User) -> Case:
    """Close a case at the vault's own time (no caller supplies it)."""
    case = find_case(session, number)
    if case.closed_at is not None:
        raise Conflict(f"case {number!r} was closed on {case.closed_at:%Y-%m-%d}")
    case.closed_at = utcnow()
    _reapply(session, stores, case, user=user, cause=f"case {number} closed")
    return case


def flag_case(
    session: Session, stores: Stores, number: str, flags: Sequence[CaseFlag], *, user: User
) -> Case:
    """Add flags (a flag is never removed: it may have made items permanent)."""
    case = find_case(session, number)
    added = sorted({f.value for f in flags} - set(case.flags))
    if not added:
        raise Conflict(f"case {number!r} already has those flags")
    case.flags = sorted({*case.flags, *added})
    _reapply(session, stores, case, user=user, cause=f"case {number} flagged {', '.join(added)}")
    return case


def attach(
    session: Session, stores: Stores, number: str, refs: Sequence[str], *, user: User
) -> Case:
    """Attach items to a case: the one entry point (CLI, HTTP, console). Each item's chain
    records case_linked, then retention_extended when the case gives it a later end, and the
    stores get the new lock or hold."""
    case = find_case(session, number)
    linked = attach_items(session, case, refs)
    for item in linked:
        append_event(
            session,
            item_id=item.id,
            kind=EventKind.CASE_LINKED,
            actor=f"user:{user.username}",
            data={"case": case.number, "flags": list(case.flags)},
        )
    for item in linked:
        apply_rules(session, stores, item, actor=f"user:{user.username}",
                    cause=f"attached to case {number}")  # fmt: skip
    session.refresh(case)
    return case


def categorize(
    session: Session, stores: Stores, ref: str, categories: Sequence[str], *, user: User
) -> EvidenceItem:
    """Add categories to an item (e.g. obstruction): never removed, like case flags."""
    item = find_item(session, ref)
    if item.status != ItemStatus.PRESERVED:
        raise Conflict(f"item {item.id} was destroyed")
    wanted = {c.strip().lower() for c in categories}
    if not wanted or any(not c.replace("_", "").isalnum() or len(c) > 40 for c in wanted):
        raise InputRejected("categories are words such as obstruction, mass_incident")
    added = sorted(wanted - set(item.categories or ()))
    if not added:
        raise Conflict(f"item {item.id} already has those categories")
    item.categories = sorted({*(item.categories or ()), *added})
    append_event(session, item_id=item.id, kind=EventKind.METADATA_CORRECTED,
                 actor=f"user:{user.username}", data={"categories_added": added})  # fmt: skip
    apply_rules(session, stores, item, actor=f"user:{user.username}",
                cause=f"categorised {', '.join(added)}")  # fmt: skip
    return item
