"""Recording gaps: where one device's recording of an incident was interrupted. Pure.

Clips of one device follow each other; a pause no longer than the incident window keeps
them in one incident, and inside an incident a pause longer than the threshold is a gap the
regulations want explained (device fault, battery, storage full, weather, other).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise


class GapCause(enum.StrEnum):
    DEVICE_FAULT = "device_fault"  # 设备故障
    LOW_BATTERY = "low_battery"  # 电量不足
    STORAGE_FULL = "storage_full"  # 存储空间不足
    WEATHER = "weather"  # 天气
    OTHER = "other"  # 其他 (with text)


CAUSE_NAMES = {
    GapCause.DEVICE_FAULT: "设备故障 device fault",
    GapCause.LOW_BATTERY: "电量不足 low battery",
    GapCause.STORAGE_FULL: "存储空间不足 storage full",
    GapCause.WEATHER: "天气 weather",
    GapCause.OTHER: "其他 other",
}


@dataclass(frozen=True)
class Clip:
    item_id: uuid.UUID
    device: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Gap:
    device: str
    before: uuid.UUID  # the clip that stopped
    after: uuid.UUID  # the clip that resumed
    stopped_at: datetime
    resumed_at: datetime

    @property
    def length(self) -> timedelta:
        return self.resumed_at - self.stopped_at


def find_gaps(clips: Iterable[Clip], *, window: timedelta, threshold: timedelta) -> list[Gap]:
    """Every gap longer than ``threshold`` and no longer than ``window`` between consecutive
    clips of the same device, in time order."""
    by_device: dict[str, list[Clip]] = {}
    for clip in clips:
        by_device.setdefault(clip.device, []).append(clip)
    gaps = []
    for device, own in sorted(by_device.items()):
        ordered = sorted(own, key=lambda c: (c.start, c.end))
        for first, second in pairwise(ordered):
            pause = second.start - first.end
            if threshold < pause <= window:
                gaps.append(Gap(device, first.item_id, second.item_id, first.end, second.start))
    return gaps
