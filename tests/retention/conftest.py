"""Helpers for retention tests: the people of the destruction workflow, and a vault clock
that can run as if it were another day (the stores and the S3 server stay on real time)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import vault.db
from retention.rules import add_years
from tests.conftest import Vault, put_clip
from vault import accounts
from vault.db import unit_of_work
from vault.models import EvidenceItem, User
from vault.pki import issue_user_key

ROLES = {
    "custodian": ["custodian"],
    "approver": ["approver"],
    "admin": ["admin"],
    "appraiser1": ["appraiser"],
    "appraiser2": ["appraiser"],
    "principal": ["principal", "executor", "supervisor"],  # holds every role: still refused
    "executor": ["executor"],
    "supervisor": ["supervisor"],
    "both": ["executor", "supervisor"],
}


@dataclass
class People:
    vault: Vault

    def get(self, name: str) -> User:
        with unit_of_work(self.vault.app.factory) as session:
            user = accounts.find_user(session, name)
            session.expunge(user)
            return user


def add_people(v: Vault) -> People:
    settings = v.app.settings
    with unit_of_work(v.app.factory) as session:
        for name, roles in ROLES.items():
            accounts.add_user(session, username=name, roles=roles, display_name=name.title())
    for name in ("executor", "supervisor", "principal", "both"):
        issue_user_key(settings.keys_path, name, display_name=name.title(),
                       organisation=settings.organisation)  # fmt: skip
    return People(v)


class VaultClock:
    """Moves the vault's clock (vault.db.clock) by an offset from real time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta(0)
        monkeypatch.setattr(vault.db, "clock", lambda: datetime.now(UTC) + self.offset)

    def real(self) -> None:
        self.offset = timedelta(0)

    def years_ahead(self, years: int) -> None:
        now = datetime.now(UTC)
        self.offset = add_years(now, years) - now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[VaultClock]:
    yield VaultClock(monkeypatch)


def ingest_expiring(
    v: Vault, clip_dir: Path, clock: VaultClock, *, clips: int, seconds: float
) -> list[EvidenceItem]:
    """Ingest clips as if they had arrived 30 years ago, so that their retention (in no case:
    30 years from receipt) ends ``seconds`` from now in real time: the stores, and the S3
    server's Object Lock, then hold them until exactly then."""
    now = datetime.now(UTC)
    end = now + timedelta(seconds=seconds)
    clock.offset = add_years(end, -30) - now
    written_at = (now + clock.offset - timedelta(minutes=1)).timestamp()
    for n in range(clips):
        path = put_clip(clip_dir, n, v.station_dir / "CAM1" / f"CAM1_OFC7_20260101T0{n}0000.mp4")
        os.utime(path, (written_at, written_at))  # written then, by the station's clock
    v.ingest()
    clock.real()
    with unit_of_work(v.app.factory) as session:
        items = list(session.execute(select(EvidenceItem).order_by(EvidenceItem.digest)).scalars())
        session.expunge_all()
    return items


def wait_until(moment: datetime) -> None:
    while datetime.now(UTC) <= moment:
        time.sleep(0.2)
