"""What the HTTP API returns and accepts (pydantic), with examples for the OpenAPI page."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from api.http.export_schemas import PLAIN_TEXT
from custody.access.purposes import Purpose, RequesterKind, RequestStatus
from vault.name_rules import CASE_NUMBER_PATTERN, USERNAME_PATTERN
from vault.roles import CaseFlag, Role
from vault.statuses import ItemStatus, MediaStatus, ScanStatus

ITEM_EXAMPLE: dict[str, JsonValue] = {
    "id": "3f2a9c1e-7b4d-4f0e-9a51-2c8e6d1b0a77",
    "digest": "9c01e5f4b1a0c3d2e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5",
    "size": 734003200,
    "media_type": "video/mp4",
    "original_name": "CAM1_P1001_20261124T093000.mp4",
    "station": "station-01",
    "device": "CAM1",
    "officer": "P1001",
    "recorded_start": "2026-11-24T01:30:00Z",
    "recorded_end": "2026-11-24T01:52:10Z",
    "duration_ms": 1330000,
    "docked_at": "2026-11-24T08:02:11Z",
    "ingested_at": "2026-11-24T08:03:40Z",
    "media_status": "probed",
    "probe_error": None,
    "status": "preserved",
    "retain_until": "2056-11-24T08:03:40Z",
    "case": None,
    "scan_status": "clean",
    "scan_detail": "no signature matched",
    "scan_released_by": None,
    "flags": [],
    "station_metadata": {"officer": "P1001", "matter": "Traffic stop, Ring Road east"},
}


class Input(BaseModel):
    """Base of every request body: no NUL characters anywhere (PostgreSQL text cannot hold
    them, and no legitimate name, reason or reference contains one)."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        def walk(value: Any) -> None:
            if isinstance(value, str) and "\x00" in value:
                raise ValueError("text must not contain NUL characters")
            if isinstance(value, dict):
                for inner in value.values():
                    walk(inner)
            elif isinstance(value, list):
                for inner in value:
                    walk(inner)

        walk(data)
        return data


class Problem(BaseModel):
    """RFC 9457 problem details: every error the API returns has this shape."""

    type: str
    title: str
    status: int
    detail: str
    instance: str


class ItemOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ITEM_EXAMPLE]})

    id: uuid.UUID
    digest: str
    size: int
    media_type: str
    original_name: str
    station: str
    device: str | None
    officer: str | None
    recorded_start: datetime | None
    recorded_end: datetime | None
    duration_ms: int | None
    docked_at: datetime
    ingested_at: datetime
    media_status: MediaStatus
    probe_error: str | None = Field(default=None, description="why ffmpeg could not read it")
    status: ItemStatus
    retain_until: datetime | None
    case: str | None
    scan_status: ScanStatus
    scan_detail: str | None
    scan_released_by: str | None
    flags: list[str]
    station_metadata: dict[str, JsonValue] | None = Field(
        default=None, description="what the docking station's sidecar said about the recording"
    )


class EventOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 17,
                    "kind": "sealed",
                    "actor": "system:ingest@vault-01",
                    "at": "2026-11-24T08:03:40Z",
                    "reason": None,
                    "data": {"digest": "9c01…", "size": 734003200},
                    "prev_hash": "5be1…",
                    "entry_hash": "77aa…",
                }
            ]
        }
    )

    seq: int
    kind: str
    actor: str
    at: datetime
    reason: str | None
    data: dict[str, Any]
    prev_hash: str = Field(description="hex SHA-256 of the previous entry of this item's chain")
    entry_hash: str = Field(description="hex SHA-256(0x02 ‖ prev_hash ‖ JCS(event))")


class StationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "station-01", "kind": "local", "location": "Room 104"}]
        }
    )

    name: str
    kind: str
    location: str
    registered_at: datetime
    last_contact_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    free_bytes: int | None = None


class DeviceOut(BaseModel):
    serial: str
    label: str
    first_seen_at: datetime


class UserIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"username": "li.wei", "display_name": "Li Wei", "roles": ["investigator"]}
            ]
        },
    )

    username: str = Field(
        min_length=1, max_length=100, json_schema_extra={"pattern": USERNAME_PATTERN}
    )
    display_name: str = Field(default="", max_length=200)
    roles: list[Role] = Field(min_length=1)


class RolesIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"grant": ["custodian"], "remove": ["investigator"]}]},
    )

    grant: list[Role] = Field(default_factory=list, max_length=len(Role))
    remove: list[Role] = Field(default_factory=list, max_length=len(Role))


class UserOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    created_at: datetime
    disabled_at: datetime | None


class TokenIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"label": "li.wei laptop", "days": 90}]}
    )

    label: str = Field(default="", max_length=200)
    days: int = Field(default=90, ge=1, le=366)


class TokenOut(BaseModel):
    prefix: str
    label: str
    expires_at: datetime
    token: str | None = Field(
        default=None, description="the token itself: present only in the answer that issues it"
    )


class Health(BaseModel):
    status: str
    database: str | None = None
    schema_current: bool | None = None
    alerts: list[str] = Field(
        default_factory=list,
        description="what needs a person now (quarantined copies, items with no intact copy)",
        examples=[["1 stored copy failed its fixity check and is quarantined"]],
    )


class RequestIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": ["9c01e5f4b1a0"],
                    "purpose": "view",
                    "reason": "Case 2026-117: identify the vehicle at 09:31",
                    "period_days": 3,
                },
                {
                    "case": "2026-117",
                    "purpose": "copy_original",
                    "reason": "Defence disclosure",
                    "requester_kind": "lawyer",
                    "organisation": "Example Law Firm",
                    "document_ref": "licence 11101200910123456; filing certificate (2026)001",
                },
            ]
        },
    )

    items: list[str] = Field(default_factory=list, max_length=1000)
    case: str | None = Field(default=None, max_length=100)
    purpose: Purpose
    reason: str = Field(min_length=1, max_length=2000)
    period_days: int = Field(default=3, ge=1, le=7)
    requester_kind: RequesterKind = RequesterKind.INTERNAL
    # One line each: the organisation becomes an export's Recipient in bag-info.txt.
    organisation: str = Field(default="", max_length=200, pattern=PLAIN_TEXT)
    document_ref: str = Field(default="", max_length=200, pattern=PLAIN_TEXT)
    identity_ref: str = Field(default="", max_length=100, pattern=PLAIN_TEXT)


class DecisionIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Within the case's scope"}]}
    )

    reason: str = Field(min_length=1, max_length=2000)


class RequestOut(BaseModel):
    number: str
    requester: str
    purpose: Purpose
    reason: str
    period_days: int
    requested_at: datetime
    requester_kind: RequesterKind
    organisation: str
    document_ref: str
    status: RequestStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    valid_until: datetime | None
    items: list[uuid.UUID]


class CaseIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"number": "2026-117", "title": "Traffic stop, Ring Rd", "flags": []}]
        },
    )

    number: str = Field(
        min_length=1, max_length=100, json_schema_extra={"pattern": CASE_NUMBER_PATTERN}
    )
    title: str = Field(default="", max_length=500)
    flags: list[CaseFlag] = Field(default_factory=list)


class CaseItemsIn(Input):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"items": ["9c01e5f4b1a0"]}]}
    )

    items: list[str] = Field(min_length=1, max_length=1000)


class CaseOut(BaseModel):
    number: str
    title: str
    flags: list[str]
    opened_at: datetime
    closed_at: datetime | None
    items: list[uuid.UUID]


class AlertOut(BaseModel):
    id: uuid.UUID
    kind: str
    level: str
    message: str
    details: dict[str, Any]
    raised_at: datetime
    webhook_sent_at: datetime | None
    webhook_attempts: int
    webhook_error: str | None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledgement: str | None = Field(
        default=None, description="What the person who acknowledged it said was done."
    )
