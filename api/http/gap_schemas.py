"""A recording gap as the API and `evault gaps --json` give it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from ingest.gaps import GapCause

if TYPE_CHECKING:
    from ingest.gap_service import FoundGap


class GapOut(BaseModel):
    device: str
    before: uuid.UUID
    after: uuid.UUID
    stopped_at: datetime
    resumed_at: datetime
    seconds: int
    cause: GapCause | None
    explanation: str | None
    explained_by: str | None


def gap_out(found: FoundGap) -> GapOut:
    gap, why = found.gap, found.explanation
    return GapOut(
        device=gap.device, before=gap.before, after=gap.after, stopped_at=gap.stopped_at,
        resumed_at=gap.resumed_at, seconds=int(gap.length.total_seconds()),
        cause=GapCause(why.cause) if why else None, explanation=why.text if why else None,
        explained_by=why.explained_by if why else None,
    )  # fmt: skip
