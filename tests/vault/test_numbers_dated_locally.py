"""Request, export and appraisal numbers carry the day as people in display_timezone live it
(issue 22): at 01:30 in Shanghai it is already the 7th there, though still the 6th in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import vault.db
from custody.access import requests as access
from custody.access.purposes import Purpose, RequesterKind
from export.package import new_number
from tests.conftest import make_vault, put_clip
from vault import accounts
from vault.db import unit_of_work
from vault.moments import local_day

LATE_IN_UTC = datetime(2026, 12, 6, 17, 30, tzinfo=UTC)  # 2026-12-07 01:30 in Shanghai


def test_local_day_is_the_day_in_the_zone() -> None:
    assert local_day(LATE_IN_UTC, "Asia/Shanghai") == "20261207"
    assert local_day(LATE_IN_UTC, "UTC") == "20261206"
    assert local_day(LATE_IN_UTC, "America/Los_Angeles") == "20261206"


def test_numbers_carry_the_display_zones_day(
    isolated_env: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = make_vault(isolated_env)
    put_clip(clip_dir, 0, v.station_dir / "clip.mp4")
    v.ingest()
    monkeypatch.setattr(vault.db, "clock", lambda: LATE_IN_UTC)
    zone = v.settings.display_timezone
    (item,) = v.items()
    assert zone == "Asia/Shanghai"  # the default
    with unit_of_work(v.app.factory) as session:
        li = accounts.add_user(session, username="li", roles=["investigator"])
        new = access.NewRequest(purpose=Purpose.VIEW, reason="case 117", items=[str(item.id)],
                                requester_kind=RequesterKind.INTERNAL)  # fmt: skip
        made = access.create_request(session, user=li, new=new, zone=zone)
        assert made.number.startswith("AR-20261207-"), made.number
        assert made.requested_at == LATE_IN_UTC  # the instant itself is kept in UTC
    assert new_number(zone).startswith("EXP-20261207-")
    assert new_number("UTC").startswith("EXP-20261206-")
