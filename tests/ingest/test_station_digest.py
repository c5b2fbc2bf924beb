"""A station's own SHA-256 of a recording (sidecar field sha256) is checked against the bytes
received: a match is recorded; a mismatch keeps the file, seals what was received, flags the
item and raises an alert."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.log.models import CustodyEvent
from tests.conftest import Vault, put_clip
from vault.alerts import recent_alerts
from vault.db import unit_of_work


def test_station_digest_is_checked(
    vault: Vault, clip_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "good.mp4")
    bad = put_clip(clip_dir, 1, vault.station_dir / "CAM1" / "bad.mp4")
    truth = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (good, bad)}
    good.with_name("good.mp4.json").write_text(json.dumps({"sha256": truth["good.mp4"].upper()}))
    bad.with_name("bad.mp4.json").write_text(json.dumps({"sha256": "0" * 64}))
    vault.ingest()
    items = {i.original_name: i for i in vault.items()}
    assert items["good.mp4"].flags == [] and items["bad.mp4"].flags == ["station_digest_mismatch"]
    assert items["bad.mp4"].digest == truth["bad.mp4"]  # what was received is what is sealed
    with unit_of_work(vault.app.factory) as session:
        ingested = {
            e.data["original_name"]: e.data
            for e in session.execute(
                select(CustodyEvent).where(CustodyEvent.kind == "ingested")
            ).scalars()
        }
    assert ingested["good.mp4"]["station_digest"] == {"sha256": truth["good.mp4"], "matches": True}
    assert ingested["bad.mp4"]["station_digest"] == {"sha256": "0" * 64, "matches": False}
    assert "station-supplied digest does not match the bytes received; item flagged" in (
        caplog.messages
    )
    with unit_of_work(vault.app.factory) as session:
        alerts = [(a.kind, a.details["item"]) for a in recent_alerts(session)]
    assert alerts == [("station_digest_mismatch", str(items["bad.mp4"].id))]
