"""Request body of POST /requests/{ref}/export."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(description="Item id or digest prefix (one of the request's items).")
    start: float = Field(ge=0, description="Seconds from the start of the recording.")
    end: float = Field(gt=0, description="Seconds from the start; after start.")


class ExportIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [],
                    "clips": [{"item": "3f2a9c81d0e4", "start": 12, "end": 40}],
                    "watermark": True,
                    "recipient": "Haidian District People's Court",
                    "reason": "trial bundle, case 2026-117",
                }
            ]
        },
    )

    items: list[str] = Field(
        default_factory=list, description="Only these items of the request; empty: all of them."
    )
    clips: list[ClipIn] = Field(default_factory=list, max_length=100)
    watermark: bool = Field(
        default=False, description="Burn the recipient and export number into the renditions."
    )
    recipient: str = Field(
        default="", max_length=300, description="Default: the request's organisation."
    )
    reason: str = Field(default="", max_length=2000, description="Default: the request's.")
