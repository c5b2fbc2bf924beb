"""Attaching items to a case is on each item's custody record (case_linked)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from custody.log.append import append_event
from custody.log.kinds import EventKind
from vault.cases import attach_items
from vault.models import Case, EvidenceItem, User


def link_items(
    session: Session, *, case: Case, refs: Sequence[str], user: User
) -> list[EvidenceItem]:
    linked = attach_items(session, case, refs)
    for item in linked:
        append_event(
            session,
            item_id=item.id,
            kind=EventKind.CASE_LINKED,
            actor=f"user:{user.username}",
            data={"case": case.number, "flags": list(case.flags)},
        )
    return linked
