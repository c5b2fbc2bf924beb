"""Cases: a number, a title, flags retention will read, and the items attached. Flushes only."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.errors import Conflict, InputRejected, NotFound
from vault.items import find_item
from vault.models import Case, CaseFlag, EvidenceItem

# Letters and digits of any script (a court's number reads "(2026)京0108刑初117号"), the
# brackets such numbers use, "-", "_", ".", "#" and spaces; it starts with a letter, digit or
# bracket and holds no "..": it appears in URLs and file names and must never act as a path.
CASE_NUMBER = re.compile(r"[\w(\uff08\u3014][\w()\uff08\uff09\u3014\u3015\-.# ]{0,99}")
# The same rule for the OpenAPI description (the number is stripped before it is matched).
CASE_NUMBER_PATTERN = rf"^(?!.*\.\.)\s*{CASE_NUMBER.pattern}\s*$"
CASE_NUMBER_RULE = (
    "a case number is 1-100 characters: letters and digits of any script, round brackets"
    " (half- or full-width), tortoise-shell brackets, '-', '_', '.', '#' and spaces, starting"
    " with a letter, digit or opening bracket, without '..'"
)


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
