"""An export that may not happen writes nothing and records no export; one whose sealed copy
no longer matches its digest stops, records fixity_failed and leaves nothing behind; and an
export of a large recording streams (memory does not grow with its size)."""

from __future__ import annotations

import os
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from custody.access import requests as access
from custody.access.models import AccessRequest, Purpose, RequesterKind
from custody.log.models import CustodyEvent
from export.payload import ExportAborted
from tests.conftest import Vault, run_cli
from tests.custody.test_tamper import flip_byte
from tests.export.exporting import Scene, ask, decide, make_scene, run_verifier
from vault import accounts
from vault.db import unit_of_work, utcnow
from vault.errors import AccessDenied, Conflict, InputRejected, NotFound, VaultError
from vault.models import EvidenceItem, ItemStatus, Rendition
from vault.stores.filesystem import FilesystemStore

MiB = 1024 * 1024


@pytest.fixture
def scene(vault: Vault) -> Scene:
    return make_scene(vault)


def exported_events(vault: Vault) -> list[CustodyEvent]:
    with unit_of_work(vault.app.factory) as session:
        return list(
            session.execute(select(CustodyEvent).where(CustodyEvent.kind == "exported")).scalars()
        )


def assert_nothing_written(folder: Path, vault: Vault) -> None:
    assert list(folder.iterdir()) == [], "a refused export must write nothing, not even a part"
    assert exported_events(vault) == []


def expire(vault: Vault, number: str) -> None:
    with unit_of_work(vault.app.factory) as session:
        session.execute(
            update(AccessRequest)
            .where(AccessRequest.number == number)
            .values(valid_until=utcnow() - timedelta(minutes=1))
        )


def mark_destroyed(vault: Vault, item: EvidenceItem) -> None:
    # The destruction workflow itself is tested in tests/retention; here only its outcome
    # (the item is a tombstone) matters to the export.
    with unit_of_work(vault.app.factory) as session:
        session.execute(
            update(EvidenceItem)
            .where(EvidenceItem.id == item.id)
            .values(status=ItemStatus.DESTROYED)
        )


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("pending", AccessDenied, "is pending: nothing is delivered"),
        ("refused", AccessDenied, "is refused: nothing is delivered"),
        ("expired", AccessDenied, "expired at"),
        ("wrong purpose", AccessDenied, "is for copy_original, not export"),
        ("destroyed item", NotFound, "destroyed items cannot be exported"),
        ("not the requester", AccessDenied, "is not yours"),
        ("clip past the end", InputRejected, "after the recording ends"),
        # The recipient is one line of bag-info.txt, signed in the manifest.
        ("recipient on two lines", InputRejected, "the recipient holds a control character"),
        ("organisation on two lines", InputRejected, "request's organisation .name the recip"),
        # Refused before the first exported entry, not abandoned at the rendition step.
        ("rendition not made yet", Conflict, "rendition is not made yet"),
    ],
)
def test_refused_export_writes_nothing(
    scene: Scene, tmp_path: Path, case: str, error: type[VaultError], message: str
) -> None:
    vault, out = scene.vault, tmp_path / "out"
    out.mkdir()
    spec: dict[str, object] = {}
    if case in ("pending", "refused"):
        spec["request"] = ask(vault, "li", Purpose.EXPORT, [scene.long])
        if case == "refused":
            decide(vault, str(spec["request"]), approve=False)
    elif case == "expired":
        expire(vault, scene.request)
    elif case == "wrong purpose":
        spec["request"] = ask(vault, "li", Purpose.COPY_ORIGINAL, [scene.long])
        decide(vault, str(spec["request"]))
    elif case == "destroyed item":
        mark_destroyed(vault, scene.short)
    elif case == "not the requester":
        with unit_of_work(vault.app.factory) as session:
            accounts.add_user(session, username="wang", roles=["investigator"])
        spec["request"] = ask(vault, "wang", Purpose.EXPORT, [scene.long])
        decide(vault, str(spec["request"]))
    elif case == "clip past the end":
        spec["clips"] = [scene.clip(5.0, 6.0)]
    elif case == "recipient on two lines":
        spec["recipient"] = "Haidian Court\nRecipient: Another Court"
    elif case == "organisation on two lines":  # a request kept from before the rule
        with unit_of_work(vault.app.factory) as session:
            session.execute(
                update(AccessRequest)
                .where(AccessRequest.number == scene.request)
                .values(organisation="Haidian Court\nRecipient: Another Court")
            )
    elif case == "rendition not made yet":  # ingested, its rendition still to come
        with unit_of_work(vault.app.factory) as session:
            session.execute(delete(Rendition).where(Rendition.item_id == scene.short.id))
    with pytest.raises(error, match=message):
        scene.export(out / "package.zip", **spec)
    assert_nothing_written(out, vault)


def test_a_request_names_its_organisation_on_one_line(scene: Scene) -> None:
    with unit_of_work(scene.vault.app.factory) as session:
        user = accounts.find_user(session, "li")
        with pytest.raises(InputRejected, match="the organisation is one line of text"):
            access.create_request(
                session, user=user, zone="UTC",
                new=access.NewRequest(
                    purpose=Purpose.EXPORT, reason="case 117", items=[str(scene.long.id)],
                    requester_kind=RequesterKind.PROCURATORATE, document_ref="HJ-2026-117",
                    organisation="Haidian Court\nRecipient: Another Court",
                ),
            )  # fmt: skip


def test_cli_refusal_is_a_clear_error(scene: Scene, tmp_path: Path) -> None:
    expire(scene.vault, scene.request)
    out = tmp_path / "out"
    out.mkdir()
    env = scene.vault.env() | {"EVAULT_TOKEN": scene.token}
    done = run_cli(["export", scene.request, "-o", str(out / "p.zip"), "--zip"], env, tmp_path)
    assert done.returncode != 0
    assert f"request {scene.request} expired at" in " ".join(done.stderr.split())
    assert_nothing_written(out, scene.vault)


def test_existing_target_is_never_overwritten(scene: Scene, tmp_path: Path) -> None:
    target = tmp_path / "taken.zip"
    target.write_bytes(b"someone's file")
    with pytest.raises(InputRejected, match="never overwrites"):
        scene.export(target)
    assert target.read_bytes() == b"someone's file"
    assert exported_events(scene.vault) == []


def test_sealed_copy_that_changed_aborts_and_records_fixity_failed(
    scene: Scene, tmp_path: Path
) -> None:
    sealed = Path(scene.short.sealed_locator)
    os.chmod(sealed, 0o644)
    data = bytearray(sealed.read_bytes())
    data[len(data) // 2] ^= 0x01
    sealed.write_bytes(bytes(data))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportAborted, match="fixity_failed was recorded"):
        scene.export(out / "package")
    assert list(out.iterdir()) == []  # no partial package
    with unit_of_work(scene.vault.app.factory) as session:
        kinds = [
            e.kind
            for e in session.execute(
                select(CustodyEvent)
                .where(CustodyEvent.item_id == scene.short.id)
                .order_by(CustodyEvent.seq)
            ).scalars()
        ]
    assert "fixity_failed" in kinds and "repaired" in kinds  # restored from the access copy
    scene.export(out / "again")  # after the repair the export goes through
    assert run_verifier(out / "again").returncode == 0


def _traced_peak(scene: Scene, target: Path, number: str) -> tuple[int, int]:
    tracemalloc.start()
    try:
        result = scene.export(target, request=number)
        return result.payload_bytes, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_streams_a_large_recording(vault: Vault, tmp_path: Path) -> None:
    """Python memory while exporting 2 MiB and 64 MiB recordings (copy, bag and ZIP): the
    larger must not cost more (the code is imported by a first export, outside the count)."""
    sizes = {"small.mp4": 2, "large.mp4": 64}
    for name, mib in sizes.items():
        path = vault.station_dir / "CAM9" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            for _ in range(mib):
                out.write(os.urandom(MiB))  # not video: sealed all the same, no rendition
    scene = make_scene(vault)
    scene.export(tmp_path / "warm-up")
    peaks = {}
    for name, mib in sizes.items():
        item = next(i for i in vault.items() if i.original_name == name)
        number = ask(vault, "li", Purpose.EXPORT, [item])
        decide(vault, number)
        payload, peaks[name] = _traced_peak(scene, tmp_path / f"{name}.zip", number)
        assert payload > mib * MiB
    assert peaks["large.mp4"] < peaks["small.mp4"] + 4 * MiB, peaks
    assert peaks["large.mp4"] < 16 * MiB, peaks


def test_unreachable_time_stamping_authority_stops_the_export(scene: Scene, tmp_path: Path) -> None:
    from export.package import ExportJob, export  # noqa: PLC0415
    from export.spec import ExportSpec  # noqa: PLC0415
    from tests.ftpserver import free_port  # noqa: PLC0415

    vault = scene.vault
    settings = vault.settings.model_copy(
        update={"tsa_url": f"http://127.0.0.1:{free_port()}/tsa", "tsa_timeout_seconds": 3}
    )
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportAborted, match="could not be time-stamped"):
        export(
            ExportJob(vault.app.factory, vault.app.stores, settings),
            ExportSpec(request=scene.request),
            user_id=scene.investigator,
            target=out / "package",
            as_zip=False,
        )
    assert list(out.iterdir()) == []


def test_an_export_that_stops_at_the_rendition_step_says_so_on_the_chain(
    scene: Scene, tmp_path: Path
) -> None:
    """The original's exported entry is committed before the rendition fails: the chain then
    says the export was abandoned, why, and that its package was removed, so no exported
    entry stands for bytes that never left the vault."""
    access = scene.vault.app.stores.access
    assert isinstance(access, FilesystemStore)
    with unit_of_work(scene.vault.app.factory) as session:
        rendition = session.execute(
            select(Rendition).where(Rendition.item_id == scene.long.id)
        ).scalar_one()
        assert rendition.digest is not None
        damaged = access.path_for(rendition.digest)
    flip_byte(str(damaged))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(VaultError):
        scene.export(out / "package")
    assert list(out.iterdir()) == []
    with unit_of_work(scene.vault.app.factory) as session:
        events = list(
            session.execute(
                select(CustodyEvent).where(CustodyEvent.kind.in_(["exported", "export_abandoned"]))
            ).scalars()
        )
    exported = [e for e in events if e.kind == "exported"]
    abandoned = {e.item_id: e for e in events if e.kind == "export_abandoned"}
    assert exported, "the failure came after at least one file was recorded as exported"
    for entry in exported:
        answer = abandoned[entry.item_id]  # every exported entry is answered on its chain
        assert answer.seq > entry.seq
        assert answer.data["export"] == entry.data["export"]
        assert answer.data["package"] == "removed"
        assert "no longer matches its digest" in (answer.reason or "")
