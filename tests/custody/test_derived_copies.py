"""Every stored derivative is a row (issue 16, case 3): watermarked copies made for a delivery
or an export, and export clips, are recorded as derived copies the moment they are stored, so
the fixity schedule re-hashes them and destruction finds them without reading event JSON."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import select

from custody.access.handover import hand_over
from custody.access.models import AccessRequest, Purpose
from custody.fixity.checks import quarantined, run_slice
from custody.fixity.models import CopyKind
from custody.log.append import events_for
from custody.log.kinds import DELIVERY_KINDS
from migrations import alembic_config, upgrade
from retention.ends import item_objects
from tests.conftest import Vault
from tests.custody.test_tamper import flip_byte
from tests.export.exporting import ask, decide, make_scene
from vault.db import unit_of_work
from vault.models import DerivedCopy, EvidenceItem, User
from vault.stores.filesystem import FilesystemStore


def watermarked_download(vault: Vault, number: str, item: EvidenceItem, tmp: Path) -> str:
    with unit_of_work(vault.app.factory, read_only=True) as session:
        request = session.execute(
            select(AccessRequest).where(AccessRequest.number == number)
        ).scalar_one()
        user = session.execute(select(User).where(User.username == "li")).scalar_one()
        handover = hand_over(
            factory=vault.app.factory, session=session, stores=vault.app.stores,
            request=request, item=item, user=user, workdir=tmp, chunk_size=64 * 1024,
        )  # fmt: skip
        b"".join(handover.chunks)
    return handover.digest


def test_derived_copies_are_rows_checked_by_fixity_and_found_by_destruction(
    vault: Vault, tmp_path: Path
) -> None:
    scene = make_scene(vault)
    number = ask(vault, "li", Purpose.COPY_RENDITION, [scene.long])
    decide(vault, number)
    handed = [watermarked_download(vault, number, scene.long, tmp_path) for _ in range(2)]
    exported = scene.export(tmp_path / "package", clips=[scene.clip()], watermark=True)
    assert exported.files

    with unit_of_work(vault.app.factory, read_only=True) as session:
        rows = list(session.execute(select(DerivedCopy).order_by(DerivedCopy.made_at)).scalars())
        delivered = {
            e.data["digest"]
            for e in events_for(session, scene.long.id)
            if e.kind in DELIVERY_KINDS and ("watermark" in e.data or "derivative" in e.data)
        }
        objects = item_objects(session, session.get(EvidenceItem, scene.long.id))  # type: ignore[arg-type]
    made = [(r.kind, r.made_for) for r in rows if r.item_id == scene.long.id]
    assert made == [
        ("watermarked_copy", number),
        ("watermarked_copy", number),
        ("watermarked_copy", exported.number),
        ("clip", exported.number),
    ]
    derived = {r.digest for r in rows if r.item_id == scene.long.id}
    assert set(handed) < derived  # (two copies in the same second carry the same text)
    # Every delivered derivative has its row; destruction deletes what item_objects names.
    assert {d for d in delivered if d != scene.long.digest} <= derived
    assert derived <= set(objects[1])

    outcomes = run_slice(
        vault.app.factory, vault.app.stores, cycle=timedelta(days=90), every=timedelta(hours=1),
        chunk_size=64 * 1024, everything=True,
    )  # fmt: skip
    checked = [o for o in outcomes if o.copy == CopyKind.DERIVED]
    assert all(o.intact for o in checked)
    short = {r.digest for r in rows if r.item_id == scene.short.id}
    assert len(checked) == len(derived) + len(short) > len(derived)  # one check per object

    access = vault.app.stores.access
    assert isinstance(access, FilesystemStore)
    flip_byte(str(access.path_for(handed[0])))
    outcomes = run_slice(
        vault.app.factory, vault.app.stores, cycle=timedelta(days=90), every=timedelta(hours=1),
        chunk_size=64 * 1024, everything=True,
    )  # fmt: skip
    (failed,) = [o for o in outcomes if not o.intact]
    assert (failed.item_id, failed.copy, failed.detail) == (
        scene.long.id,
        CopyKind.DERIVED,
        "derived copy quarantined",
    )
    with unit_of_work(vault.app.factory, read_only=True) as session:
        assert [q.copy for q in quarantined(session)] == [f"derived:{handed[0]}"]
        kinds = [(e.kind, e.data.get("digest")) for e in events_for(session, scene.long.id)]
    assert ("fixity_failed", handed[0]) in kinds
    vault.app.engine.dispose()


def test_0015_finds_the_derived_copies_a_vault_made_before_it(vault: Vault, tmp_path: Path) -> None:
    """Before 0015 a derived copy was named only by its delivery event; the migration makes
    those events' copies rows, so destruction of an old vault still finds them."""
    scene = make_scene(vault)
    number = ask(vault, "li", Purpose.COPY_RENDITION, [scene.long])
    decide(vault, number)
    handed = watermarked_download(vault, number, scene.long, tmp_path)
    scene.export(tmp_path / "package", clips=[scene.clip()])

    def derived() -> list[tuple[object, str, str, int]]:
        with unit_of_work(vault.app.factory, read_only=True) as session:
            return sorted(
                (r.item_id, r.kind, r.digest, r.size)
                for r in session.execute(select(DerivedCopy)).scalars()
            )

    made = derived()
    assert [(kind, digest == handed) for _, kind, digest, _ in made if kind != "clip"] == [
        ("watermarked_copy", True)
    ]
    command.downgrade(alembic_config(vault.app.engine), "0014")  # a vault of the last version
    upgrade(vault.app.engine)
    assert derived() == made
    vault.app.engine.dispose()
