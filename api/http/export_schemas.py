"""Request body of POST /requests/{ref}/export."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# A week of recording: beyond any body camera's, and finite (1e309 reads as infinity).
MAX_SECONDS = 7 * 24 * 3600
# Printable text only: a NUL or a control character in a name that goes into a custody
# record, a PDF and a watermark is a mistake or an attack, never a recipient.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f-\x9f]*$"
TEXT_WITH_LINES = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"  # tabs and line breaks allowed


class ClipIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    item: str = Field(
        max_length=100, pattern=PLAIN_TEXT,
        description="Item id or digest prefix (one of the request's items).",
    )  # fmt: skip
    start: float = Field(
        ge=0, le=MAX_SECONDS, description="Seconds from the start of the recording."
    )
    end: float = Field(gt=0, le=MAX_SECONDS, description="Seconds from the start; after start.")


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
        default_factory=list,
        max_length=1000,
        description="Only these items of the request; empty: all of them.",
    )
    clips: list[ClipIn] = Field(default_factory=list, max_length=100)
    watermark: bool = Field(
        default=False, description="Burn the recipient and export number into the renditions."
    )
    recipient: str = Field(
        default="", max_length=300, pattern=PLAIN_TEXT,
        description="Default: the request's organisation.",
    )  # fmt: skip
    reason: str = Field(
        default="", max_length=2000, pattern=TEXT_WITH_LINES, description="Default: the request's."
    )
