"""Sidecars are preserved with their recordings (issue 16, case 8): a valid sidecar, a
malformed one, and one that came with a re-docked copy are kept byte for byte in both stores
before the station copy is acknowledged (here: deleted), and travel with the item in an
export, where the package's verify.py checks them against the custody record."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from custody.access.models import Purpose
from custody.fixity.checks import Outcome, run_slice
from custody.fixity.models import CopyKind
from custody.log.append import events_for
from export.package import ExportJob, export
from export.spec import ExportSpec
from ingest.renditions import render_pending
from ingest.sidecar import MAX_SIDECAR_BYTES
from tests.conftest import Vault, make_vault, put_clip
from tests.custody.test_tamper import flip_byte
from tests.export.exporting import ask, decide, run_verifier
from tests.export.test_export_tamper import rebag, relist
from vault import accounts
from vault.db import unit_of_work
from vault.models import EvidenceItem, ItemSidecar, User
from vault.stores.filesystem import FilesystemStore

VALID = json.dumps({"officer": "P1001", "device": "CAM-7", "matter": "traffic stop"}).encode()
MALFORMED = b'{"officer": "P1002", "recorded_start": '  # cut off mid-write by the station
AGAIN = json.dumps({"officer": "P1001", "note": "re-docked after repair"}).encode()


def stored(vault: Vault, digest: str) -> list[bytes]:
    out = []
    for store in (vault.app.stores.sealed, vault.app.stores.access):
        with store.open(digest) as stream:
            out.append(stream.read())
    return out


def test_sidecars_are_kept_byte_for_byte_and_exported(
    isolated_env: Path, clip_dir: Path, tmp_path: Path
) -> None:
    vault = make_vault(isolated_env, acknowledge="delete")
    station = vault.station_dir / "CAM7"
    put_clip(clip_dir, 0, station / "a.mp4")
    (station / "a.mp4.json").write_bytes(VALID)
    put_clip(clip_dir, 1, station / "b.mp4")
    (station / "b.json").write_bytes(MALFORMED)
    vault.ingest()
    assert sorted(p.name for p in station.iterdir()) == []  # acknowledge = delete: all gone
    items = {i.original_name: i for i in vault.items()}
    a, b = items["a.mp4"], items["b.mp4"]
    assert a.officer == "P1001" and b.officer is None  # the malformed one was not applied

    # The re-docked copy of a.mp4 comes with a sidecar of its own.
    put_clip(clip_dir, 0, station / "again.mp4")
    (station / "again.mp4.json").write_bytes(AGAIN)
    vault.ingest()
    assert len(vault.items()) == 2

    with unit_of_work(vault.app.factory, read_only=True) as session:
        kept = {
            (r.item_id, r.name): (r.digest, r.problem)
            for r in session.execute(select(ItemSidecar)).scalars()
        }
        chain_a = [(e.kind, e.data.get("sidecar")) for e in events_for(session, a.id)]
    assert set(kept) == {(a.id, "CAM7/a.mp4.json"), (b.id, "CAM7/b.json"),
                         (a.id, "CAM7/again.mp4.json")}  # fmt: skip
    for (_, name), (digest, problem) in kept.items():
        raw = {"CAM7/a.mp4.json": VALID, "CAM7/b.json": MALFORMED,
               "CAM7/again.mp4.json": AGAIN}[name]  # fmt: skip
        assert digest == hashlib.sha256(raw).hexdigest()
        assert stored(vault, digest) == [raw, raw]  # both stores, byte for byte
        assert (problem is not None) == (raw == MALFORMED)
    again = [s for k, s in chain_a if k == "received_again"]
    assert again and again[0]["digest"] == hashlib.sha256(AGAIN).hexdigest() and again[0]["kept"]

    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="li", roles=["investigator"])
        accounts.add_user(session, username="zhao", roles=["approver"])
    render_pending(vault.ingest_context())
    number = ask(vault, "li", Purpose.EXPORT, [a, b])
    decide(vault, number)
    with unit_of_work(vault.app.factory, read_only=True) as session:
        li = session.execute(select(User).where(User.username == "li")).scalar_one().id
    package = tmp_path / "package"
    export(
        ExportJob(vault.app.factory, vault.app.stores, vault.settings),
        ExportSpec(request=number), user_id=li, target=package, as_zip=False,
    )  # fmt: skip
    shipped = sorted((package / "data" / "sidecars").iterdir())
    assert sorted(p.read_bytes() for p in shipped) == sorted([VALID, AGAIN, MALFORMED])
    checked = run_verifier(package)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # A sidecar swapped in the package, manifests and all, is caught by the custody record.
    target = next(p for p in shipped if p.read_bytes() == MALFORMED)
    target.chmod(0o644)
    target.write_bytes(b'{"officer": "someone else"}')
    relist(package, f"data/sidecars/{target.name}")
    rebag(package)
    forged = run_verifier(package)
    assert forged.returncode != 0
    assert f"data/sidecars/{target.name} is not a sidecar item {b.id} was received with" in (
        forged.stdout
    )
    with unit_of_work(vault.app.factory, read_only=True) as session:
        assert session.get(EvidenceItem, b.id) is not None
    vault.app.engine.dispose()


def test_a_stem_sidecar_two_recordings_share_is_kept_with_both_and_applied_to_neither(
    isolated_env: Path, clip_dir: Path
) -> None:
    """``clip.json`` beside ``clip.mp4`` and ``clip.mov``: before, it went with whichever was
    ingested first (metadata and all) and left the station with it."""
    vault = make_vault(isolated_env)
    station = vault.station_dir / "CAM7"
    put_clip(clip_dir, 0, station / "clip.mp4")
    put_clip(clip_dir, 1, station / "clip.mov")
    (station / "clip.json").write_bytes(VALID)
    vault.ingest()
    vault.ingest()  # acknowledgements left for a later pass are done by then
    items = {i.original_name: i for i in vault.items()}
    assert set(items) == {"clip.mp4", "clip.mov"}
    assert all(i.officer is None for i in items.values())  # whose it is cannot be told
    with unit_of_work(vault.app.factory, read_only=True) as session:
        kept = {
            r.item_id: (r.digest, r.problem or "")
            for r in session.execute(select(ItemSidecar)).scalars()
        }
    assert set(kept) == {i.id for i in items.values()}
    for digest, problem in kept.values():
        assert digest == hashlib.sha256(VALID).hexdigest()
        assert "could belong to" in problem and "applied to none" in problem
    assert stored(vault, hashlib.sha256(VALID).hexdigest()) == [VALID, VALID]
    assert not list(station.iterdir())  # all three acknowledged, the sidecar last
    moved = vault.station_dir / "ingested" / "CAM7"
    assert sorted(p.name for p in moved.iterdir()) == ["clip.json", "clip.mov", "clip.mp4"]
    vault.app.engine.dispose()


def test_a_damaged_sidecar_copy_is_repaired_from_the_other_store(
    isolated_env: Path, clip_dir: Path
) -> None:
    vault = make_vault(isolated_env)
    put_clip(clip_dir, 0, vault.station_dir / "CAM7" / "a.mp4")
    (vault.station_dir / "CAM7" / "a.mp4.json").write_bytes(VALID)
    vault.ingest()
    (item,) = vault.items()
    digest = hashlib.sha256(VALID).hexdigest()
    sealed = vault.app.stores.sealed
    assert isinstance(sealed, FilesystemStore)
    flip_byte(str(sealed.path_for(digest)), offset=10)

    def everything() -> list[Outcome]:
        return run_slice(
            vault.app.factory, vault.app.stores, cycle=timedelta(days=90),
            every=timedelta(hours=1), chunk_size=64 * 1024, everything=True,
        )  # fmt: skip

    (failed,) = [o for o in everything() if not o.intact]
    assert (failed.copy, failed.repaired) == (CopyKind.SIDECAR_SEALED, True)
    assert stored(vault, digest) == [VALID, VALID]
    with unit_of_work(vault.app.factory, read_only=True) as session:
        kinds = [(e.kind, e.data.get("copy")) for e in events_for(session, item.id)]
    assert ("fixity_failed", "sidecar-sealed") in kinds and ("repaired", "sidecar-sealed") in kinds
    assert all(o.intact for o in everything())
    vault.app.engine.dispose()


def test_a_sidecar_too_big_to_keep_is_left_on_the_station(
    isolated_env: Path, clip_dir: Path
) -> None:
    """Over the size limit the vault does not read a sidecar whole, so it cannot keep it: with
    acknowledge = delete it must stay on the station rather than be lost."""
    vault = make_vault(isolated_env, acknowledge="delete")
    station = vault.station_dir / "CAM7"
    put_clip(clip_dir, 0, station / "a.mp4")
    huge = b'{"note": "' + b"x" * (MAX_SIDECAR_BYTES + 10) + b'"}'
    (station / "a.mp4.json").write_bytes(huge)
    vault.ingest()
    (item,) = vault.items()
    assert sorted(p.name for p in station.iterdir()) == ["a.mp4.json"]  # the recording went
    assert (station / "a.mp4.json").read_bytes() == huge
    with unit_of_work(vault.app.factory, read_only=True) as session:
        (ingested, *_) = events_for(session, item.id)
        assert session.execute(select(ItemSidecar)).first() is None
    assert ingested.data["sidecar"]["kept"] is False
    assert "over the" in ingested.data["sidecar"]["problem"]
    vault.app.engine.dispose()
