"""Retention rules: which end of retention the regulations give an item. Pure functions.

Every applicable rule proposes an end; the longest wins and permanent beats any date. Ends
are counted from times the vault itself recorded (receipt, a case's closing), never from a
device's clock: a camera whose clock says 1990 must not make its recordings due today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_serializer

MIN_FLOOR_MONTHS = 6  # the regulations' minimum for any body-worn camera recording


class RetentionPolicy(BaseModel):
    """The configurable part of the rules (defaults from the regulations)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Case evidence: kept as long as the case file, counted from the case's closing.
    case_years: int = Field(default=30, ge=1, le=200)
    # Recordings in no case: kept long-term, counted from receipt.
    unattached_years: int = Field(default=30, ge=1, le=200)
    # Nothing is kept for less than this, counted from receipt.
    floor_months: int = Field(default=MIN_FLOOR_MONTHS, ge=MIN_FLOOR_MONTHS, le=2400)
    # A case with one of these flags keeps its recordings permanently.
    permanent_case_flags: frozenset[str] = frozenset(
        {"major", "hearing", "litigation", "permanent"}
    )
    # Recordings of these kinds are kept permanently, case or not.
    permanent_categories: frozenset[str] = frozenset(
        {"obstruction", "mass_incident", "major_emergency"}
    )

    @field_serializer("permanent_case_flags", "permanent_categories")
    def _sorted(self, values: frozenset[str]) -> list[str]:
        return sorted(values)  # stored and shown in one stable order


@dataclass(frozen=True)
class CaseFacts:
    number: str
    flags: frozenset[str]
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class ItemFacts:
    received_at: datetime  # the vault's clock when the file was first seen on a station
    categories: frozenset[str]
    case: CaseFacts | None


@dataclass(frozen=True)
class RetentionDecision:
    until: datetime | None  # None: permanent
    rule: str  # a stable code: floor, long_term, case_evidence, case_permanent, …
    basis: str  # why, in words, for people and the custody record

    @property
    def permanent(self) -> bool:
        return self.until is None


def add_months(start: datetime, months: int) -> datetime:
    """Calendar months; a day the target month lacks becomes that month's last day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = start.day
    while True:
        try:
            return start.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def add_years(start: datetime, years: int) -> datetime:
    """Calendar years; 29 February becomes 1 March (never earlier than a full year count)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, month=3, day=1)


def candidates(facts: ItemFacts, policy: RetentionPolicy) -> list[RetentionDecision]:
    """Every rule that applies to the item, with the end it gives."""
    found = [
        RetentionDecision(
            add_months(facts.received_at, policy.floor_months),
            "floor",
            f"the floor: {policy.floor_months} months from receipt",
        )
    ]
    case = facts.case
    if case is None:
        found.append(
            RetentionDecision(
                add_years(facts.received_at, policy.unattached_years),
                "long_term",
                f"in no case: {policy.unattached_years} years from receipt",
            )
        )
    else:
        if case.closed_at is None:
            # The closing has not happened: count from the opening (a fixed date, so the end
            # does not creep on every recomputation); it grows when the case closes, and an
            # open case blocks destruction meanwhile.
            basis = (
                f"evidence in open case {case.number}: {policy.case_years} years from its"
                f" opening on {case.opened_at:%Y-%m-%d}, extended when it closes"
            )
            found.append(
                RetentionDecision(add_years(case.opened_at, policy.case_years), "case_open", basis)
            )
        else:
            basis = (
                f"evidence in case {case.number}: {policy.case_years} years from its closing"
                f" on {case.closed_at:%Y-%m-%d}"
            )
            found.append(
                RetentionDecision(
                    add_years(case.closed_at, policy.case_years), "case_evidence", basis
                )
            )
        for flag in sorted(case.flags & policy.permanent_case_flags):
            found.append(
                RetentionDecision(None, "case_permanent", f"case {case.number} is flagged {flag}")
            )
    for category in sorted(facts.categories & policy.permanent_categories):
        found.append(RetentionDecision(None, "category_permanent", f"recording of {category}"))
    return found


def longest(decisions: Iterable[RetentionDecision]) -> RetentionDecision:
    """The longest end; permanent beats any date; on a tie the first rule listed."""
    best: RetentionDecision | None = None
    for decision in decisions:
        if best is None or extends(best.until, decision.until):
            best = decision
    if best is None:
        raise ValueError("no retention rule applies")
    return best


def decide(facts: ItemFacts, policy: RetentionPolicy) -> RetentionDecision:
    return longest(candidates(facts, policy))


def extends(current: datetime | None, wanted: datetime | None) -> bool:
    """Whether ``wanted`` is strictly longer than ``current`` (None = permanent)."""
    if current is None:
        return False
    return wanted is None or wanted > current


def show_end(until: datetime | None) -> str:
    return "permanent" if until is None else until.isoformat()
