"""Daemons that start together must not trip over each other registering the same station."""

from __future__ import annotations

from sqlalchemy import func, select

from config.settings import StationConfig
from ingest.scan import register_station, sync_stations
from tests.conftest import Vault
from vault.db import unit_of_work
from vault.models import Station


def test_station_registered_by_another_daemon_meanwhile(vault: Vault) -> None:
    config = StationConfig(name="dock-7", path=vault.root / "dock-7")
    settings = vault.settings.model_copy(update={"stations": [config]})
    # Another daemon registers dock-7 and commits after this one looked and found none ...
    with unit_of_work(vault.app.factory) as session:
        first = sync_stations(session, settings)["dock-7"].id
    # ... so this one's insert meets the unique name, and it must take the existing row.
    with unit_of_work(vault.app.factory) as late:
        assert register_station(late, config).id == first
    with unit_of_work(vault.app.factory) as session:
        assert sync_stations(session, settings)["dock-7"].id == first
    with unit_of_work(vault.app.factory) as session:
        count = session.execute(
            select(func.count()).select_from(Station).where(Station.name == "dock-7")
        ).scalar_one()
    assert count == 1
