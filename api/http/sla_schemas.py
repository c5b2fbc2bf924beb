"""The 24-hour guarantee's live view as a document: GET /sla, and `evault sla` (its --json,
and the tables drawn from it) on the host or through --url."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ingest.deadline_rule import Deadline

if TYPE_CHECKING:
    from ingest.sla import StationSla


class WaitingOut(BaseModel):
    file: str
    state: str
    size: int
    waiting_hours: float
    overdue: bool
    last_error: str | None


class LateOut(BaseModel):
    item: str
    name: str
    latency_hours: float


class StationSlaOut(BaseModel):
    station: str
    deadline_hours: float = Field(description="ingest_deadline_hours, as the vault applies it")
    waiting: list[WaitingOut]
    late_items: int
    late: list[LateOut] = Field(description="recordings ingested after the deadline")
    latency_count: int = Field(description="recordings the latency figures are over")
    latency_p50_hours: float | None
    latency_p90_hours: float | None
    latency_p99_hours: float | None
    latency_max_hours: float | None


def _hours(value: Any) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 3)


def sla_out(report: list[StationSla], deadline: Deadline) -> list[StationSlaOut]:
    """GET /sla's document, and `evault sla --json`'s (the table is drawn from it too)."""
    return [
        StationSlaOut(
            station=s.station,
            deadline_hours=_hours(deadline.limit) or 0.0,
            waiting=[
                WaitingOut(
                    file=w.rel_path,
                    state=w.state,
                    size=w.size,
                    waiting_hours=_hours(w.age) or 0.0,
                    overdue=w.overdue,
                    last_error=w.last_error,
                )
                for w in s.waiting
            ],
            late_items=len(s.late),
            late=[
                LateOut(
                    item=late.item_id, name=late.name, latency_hours=_hours(late.latency) or 0.0
                )
                for late in s.late
            ],
            latency_count=s.latency.count,
            latency_p50_hours=_hours(s.latency.p50),
            latency_p90_hours=_hours(s.latency.p90),
            latency_p99_hours=_hours(s.latency.p99),
            latency_max_hours=_hours(s.latency.max),
        )
        for s in report
    ]
