"""An item's stored copies and where each stands in the fixity schedule, and its rendition:
GET /items/{ref}/copies and `evault show` (read by api.http.copy_reads)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class CopyOut(BaseModel):
    copy_: str = Field(
        alias="copy", description="sealed, access, rendition, derived:<sha256>, sidecar-…"
    )
    digest: str
    size: int
    status: str = Field(description="unchecked, ok, failed, repaired, or destroyed")
    last_checked_at: datetime | None = None
    quarantined_at: datetime | None = Field(
        default=None, description="set while a failed copy is not trusted or served"
    )
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)


class RenditionOut(BaseModel):
    status: str = Field(description="running, made, failed, or destroyed")
    digest: str | None
    size: int | None
    finished_at: datetime | None
    error: str | None


class CopiesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{
            "copies": [{"copy": "access", "digest": "9c01…", "size": 734003200, "status": "ok",
                        "last_checked_at": "2026-12-06T02:00:00Z", "quarantined_at": None}],
            "rendition": {"status": "made", "digest": "4be2…", "size": 41000000,
                          "finished_at": "2026-11-24T08:05:12Z", "error": None},
            "destroyed_at": None,
        }]}
    )  # fmt: skip

    copies: list[CopyOut]
    rendition: RenditionOut | None
    destroyed_at: datetime | None = Field(description="when destruction removed every copy")
