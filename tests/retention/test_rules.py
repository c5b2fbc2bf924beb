"""The retention rules, case by case as the regulations state them, and in combination."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from retention.rules import (
    CaseFacts,
    ItemFacts,
    RetentionPolicy,
    add_months,
    add_years,
    decide,
    extends,
)

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
OPENED = datetime(2026, 2, 1, 0, 0, tzinfo=UTC)
CLOSED = datetime(2027, 6, 1, 0, 0, tzinfo=UTC)
POLICY = RetentionPolicy()


def case(*flags: str, closed: datetime | None = CLOSED) -> CaseFacts:
    return CaseFacts(number="A-1", flags=frozenset(flags), opened_at=OPENED, closed_at=closed)


def item(case_facts: CaseFacts | None = None, *categories: str) -> ItemFacts:
    return ItemFacts(received_at=RECEIVED, categories=frozenset(categories), case=case_facts)


@pytest.mark.parametrize(
    ("facts", "until", "rule"),
    [
        # Not attached to a case: long-term, 30 years from receipt.
        (item(), add_years(RECEIVED, 30), "long_term"),
        # Case evidence: 30 years from the case's closing date.
        (item(case()), add_years(CLOSED, 30), "case_evidence"),
        # A case still open: counted from its opening, grows again when it closes.
        (item(case(closed=None)), add_years(OPENED, 30), "case_open"),
        # Permanent: a major case, a hearing, reconsideration or litigation accepted.
        (item(case("major")), None, "case_permanent"),
        (item(case("hearing")), None, "case_permanent"),
        (item(case("litigation")), None, "case_permanent"),
        (item(case("permanent")), None, "case_permanent"),
        # A complaint alone does not make a case permanent.
        (item(case("complaint")), add_years(CLOSED, 30), "case_evidence"),
        # Obstruction of officers, mass incidents, major emergencies: permanent, case or not.
        (item(None, "obstruction"), None, "category_permanent"),
        (item(None, "mass_incident"), None, "category_permanent"),
        (item(None, "major_emergency"), None, "category_permanent"),
        (item(case(), "major_emergency"), None, "category_permanent"),
        # Combinations: the longest wins; permanent beats any date.
        (item(case("major"), "obstruction"), None, "case_permanent"),
        (item(case("complaint"), "traffic"), add_years(CLOSED, 30), "case_evidence"),
    ],
    ids=[
        "unattached", "case-closed", "case-open", "major", "hearing", "litigation",
        "permanent-flag", "complaint-only", "obstruction", "mass-incident", "major-emergency",
        "case-plus-category", "major-plus-obstruction", "unknown-category",
    ],
)  # fmt: skip
def test_each_regulation_case(facts: ItemFacts, until: datetime | None, rule: str) -> None:
    decision = decide(facts, POLICY)
    assert (decision.until, decision.rule) == (until, rule)


def test_the_longest_rule_wins_whichever_it_is() -> None:
    # A case closed long before receipt: 30 years from that closing is earlier than the
    # long-term period would be, but attached items get no long-term rule; the floor applies.
    early_close = datetime(1990, 1, 1, tzinfo=UTC)
    decision = decide(item(case(closed=early_close)), POLICY)
    assert decision.rule == "floor"
    assert decision.until == add_months(RECEIVED, 6)
    # A floor longer than everything else wins over the other rules.
    long_floor = RetentionPolicy(floor_months=12 * 40)
    assert decide(item(case()), long_floor).rule == "floor"
    # Longer case periods beat the long-term period.
    assert decide(item(case()), RetentionPolicy(case_years=50)).until == add_years(CLOSED, 50)


def test_the_floor_is_at_least_six_months() -> None:
    with pytest.raises(ValidationError):
        RetentionPolicy(floor_months=5)
    assert RetentionPolicy(floor_months=6).floor_months == 6


@pytest.mark.parametrize(
    ("current", "wanted", "longer"),
    [
        (NOW, None, True),
        (None, NOW, False),
        (None, None, False),
        (NOW, add_years(NOW, 1), True),
        (NOW, NOW, False),
        (add_years(NOW, 1), NOW, False),
    ],
)
def test_extends_only_when_strictly_longer(
    current: datetime | None, wanted: datetime | None, longer: bool
) -> None:
    assert extends(current, wanted) is longer


def test_calendar_arithmetic_never_gives_less() -> None:
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert add_years(leap, 30) == datetime(2058, 3, 1, tzinfo=UTC)
    assert add_months(datetime(2026, 8, 31, tzinfo=UTC), 6) == datetime(2027, 2, 28, tzinfo=UTC)
