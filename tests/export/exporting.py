"""What the export tests share: a vault with two recordings (one 3 s at 15 fps, so a clip of
1-2 s is frames 15 to 29), their renditions, an investigator and an approver, and an
approved export request."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from custody.access import requests as access
from custody.access.models import Purpose, RequesterKind
from export.package import ExportJob, ExportResult, export
from export.spec import ClipSpec, ExportSpec
from ingest.renditions import render_pending
from tests.conftest import Vault
from vault import accounts
from vault.db import unit_of_work
from vault.models import EvidenceItem, User
from vault.synthetic import generate_clip

FPS = 15


@dataclass(frozen=True)
class Scene:
    vault: Vault
    long: EvidenceItem  # 3 s
    short: EvidenceItem  # 1 s
    investigator: uuid.UUID
    token: str  # the investigator's API token
    request: str  # an approved export request for both items

    def job(self) -> ExportJob:
        return ExportJob(self.vault.app.factory, self.vault.app.stores, self.vault.settings)

    def export(self, target: Path, **spec: object) -> ExportResult:
        options: dict[str, object] = {"request": self.request, **spec}
        return export(
            self.job(), ExportSpec(**options), user_id=self.investigator, target=target,  # type: ignore[arg-type]
            as_zip=target.suffix == ".zip",
        )  # fmt: skip

    def clip(self, start: float = 1.0, end: float = 2.0) -> ClipSpec:
        return ClipSpec(str(self.long.id), start, end)


def ask(vault: Vault, user: str, purpose: Purpose, items: list[EvidenceItem]) -> str:
    with unit_of_work(vault.app.factory) as session:
        requester = session.execute(select(User).where(User.username == user)).scalar_one()
        made = access.create_request(
            session,
            user=requester,
            zone=vault.settings.display_timezone,
            new=access.NewRequest(
                purpose=purpose, reason="case 117: submission to the procuratorate",
                items=[str(i.id) for i in items], requester_kind=RequesterKind.PROCURATORATE,
                organisation="Haidian District Procuratorate 海淀区人民检察院",
                document_ref="HJ-2026-117",
            ),
        )  # fmt: skip
        return made.number


def decide(vault: Vault, number: str, *, approve: bool = True) -> None:
    with unit_of_work(vault.app.factory) as session:
        approver = session.execute(select(User).where(User.username == "zhao")).scalar_one()
        access.decide(session, ref=number, approver=approver, approve=approve, reason="in scope")


def make_scene(vault: Vault) -> Scene:
    generate_clip(vault.station_dir / "CAM7" / "patrol.mp4", seconds=3, label="A")
    generate_clip(vault.station_dir / "CAM7" / "stop.mp4", seconds=1, frequency=640)
    vault.ingest()
    render_pending(vault.ingest_context())
    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="li", roles=["investigator"])
        accounts.add_user(session, username="zhao", roles=["approver"])
        token = accounts.issue_token(session, username="li").secret
    items = {i.original_name: i for i in vault.items()}
    number = ask(vault, "li", Purpose.EXPORT, list(items.values()))
    decide(vault, number)
    with unit_of_work(vault.app.factory) as session:
        li = session.execute(select(User).where(User.username == "li")).scalar_one().id
    return Scene(vault, items["patrol.mp4"], items["stop.mp4"], li, token, number)


def run_verifier(
    package: Path, *extra: str, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, str(package / "data" / "verify.py"), *extra],
        capture_output=True, text=True, timeout=300, check=False, cwd=package,
    )  # fmt: skip
