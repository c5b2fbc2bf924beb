"""Cases: a number, a title, flags retention will read, and the items attached. Flushes only."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.errors import Conflict, InputRejected, NotFound
from vault.items import find_item
from vault.models import Case, CaseFlag, EvidenceItem
from vault.name_rules import CASE_NUMBER as CASE_NUMBER  # noqa: PLC0414 - re-exported
from vault.name_rules import CASE_NUMBER_PATTERN as CASE_NUMBER_PATTERN  # noqa: PLC0414
from vault.name_rules import CASE_NUMBER_RULE as CASE_NUMBER_RULE  # noqa: PLC0414


def open_case(
    session: Session, *, number: str, title: str = "", flags: Sequence[CaseFlag] = ()
) -> Case:
    number = number.strip()
    if not CASE_NUMBER.fullmatch(number) or ".." in number:
        raise InputRejected(CASE_NUMBER_RULE)
    if session.execute(select(Case.id).where(Case.number == number)).first() is not None:
        raise Conflict(f"case {number!r} already exists")
    case = Case(number=number, title=title, flags=sorted({f.value for f in flags}))
    session.add(case)
    session.flush()
    return case


def find_case(session: Session, number: str) -> Case:
    case = session.execute(select(Case).where(Case.number == number)).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no case {number!r}")
    return case


def list_cases(session: Session) -> list[Case]:
    return list(session.execute(select(Case).order_by(Case.opened_at.desc())).scalars())


def attach_items(session: Session, case: Case, refs: Sequence[str]) -> list[EvidenceItem]:
    """Attach items to ``case``; an item already in another case is refused, not moved."""
    items = [find_item(session, ref) for ref in refs]
    for item in items:
        if item.case_id not in (None, case.id):
            raise Conflict(f"item {item.id} already belongs to another case")
    newly = [item for item in items if item.case_id is None]
    for item in newly:
        item.case_id = case.id
    session.flush()
    return newly
