"""Bodies of the retention routes: policy, item retention, holds, appraisal batches."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.http.schemas import Input
from retention.decisions import Decision
from vault.roles import CaseFlag

REASON = Field(min_length=1, max_length=2000)


class PolicyOut(BaseModel):
    version: int | None
    created_by: str
    reason: str
    case_years: int
    unattached_years: int
    floor_months: int
    permanent_case_flags: list[str]
    permanent_categories: list[str]


class PolicyIn(Input):
    """Only the fields given change; flags and categories given are added to the lists."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"unattached_years": 40, "reason": "provincial rule 7"}]},
    )

    reason: str = REASON
    case_years: int | None = Field(default=None, ge=1, le=200)
    unattached_years: int | None = Field(default=None, ge=1, le=200)
    floor_months: int | None = Field(default=None, ge=6, le=2400)
    permanent_case_flags: list[str] = Field(default_factory=list, max_length=50)
    permanent_categories: list[str] = Field(default_factory=list, max_length=50)


class PolicyEditOut(BaseModel):
    version: int
    extended: int  # items whose end this version pushed later


class HoldOut(BaseModel):
    id: uuid.UUID
    item: uuid.UUID
    reason: str
    reference: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None


class HoldIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "appeal pending", "reference": "court order (2026) 17"}]
        },
    )

    reason: str = REASON
    reference: str = Field(min_length=1, max_length=200)


class ReasonIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "…"}]})

    reason: str = REASON


class RetentionOut(BaseModel):
    item: uuid.UUID
    status: str
    retain_until: datetime | None  # null: permanent
    rule: str | None
    basis: str | None
    categories: list[str]
    holds: list[HoldOut]


class CategoriesIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"categories": ["obstruction"]}]}
    )

    categories: list[str] = Field(min_length=1, max_length=20)


class CaseFlagsIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"flags": ["hearing"]}]}
    )

    flags: list[CaseFlag] = Field(min_length=1)


class DueItemOut(BaseModel):
    item: uuid.UUID
    digest: str
    group: str  # "case 2026-117" or "no case"
    station: str
    retain_until: datetime
    rule: str | None
    basis: str | None


class DecisionIn(Input):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is refused, not ignored

    item: str = Field(min_length=1, max_length=64)
    decision: Decision
    reason: str = REASON
    # Required for keep: the new end (must be after the vault's today; the server's clock
    # decides, never the caller's).
    keep_until: AwareDatetime | None = None


class AppraisalIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "members": ["wang.fang"],
                    "decisions": [
                        {"item": "9c01e5f4b1a0", "decision": "destroy", "reason": "no value"},
                        {"item": "77aa03c9e2d1", "decision": "keep", "reason": "training",
                         "keep_until": "2036-01-01T00:00:00Z"},
                    ],
                }
            ]
        },
    )  # fmt: skip

    members: list[str] = Field(default_factory=list, max_length=20)
    decisions: list[DecisionIn] = Field(min_length=1, max_length=10000)


class NoteIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "approved at meeting 12"}]}
    )

    note: str = REASON


class DecisionOut(BaseModel):
    item: uuid.UUID
    decision: str
    reason: str
    keep_until: datetime | None


class BatchOut(BaseModel):
    number: str
    status: str
    members: list[str]
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    supervisor: str | None
    executor: str | None
    executed_at: datetime | None
    register_digest: str | None
    decisions: list[DecisionOut]


class DestructionOut(BaseModel):
    batch: str
    items: int
    objects_deleted: int
    objects_absent: int
    register_digest: str
    register_size: int
    checkpoint_size: int | None  # the signed checkpoint covering the destroyed events
