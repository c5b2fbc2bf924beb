"""A sidecar named after a stem (``clip.json``) that more than one recording shares (``clip.mp4``
and ``clip.mov``): it is kept with each of them, its metadata is applied to none (the vault
cannot tell whose it is), and it stays on the station until the last of them is acknowledged."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import FileState, StationFile
from ingest.naming import display_name
from ingest.sidecar import Sidecar, sidecar_names
from vault.models import ItemSidecar

NOT_YET_ACKNOWLEDGED = (
    FileState.WAITING, FileState.INGESTING, FileState.INGESTED, FileState.REJECTED,
)  # fmt: skip


def stem_sidecar(rel_path: bytes) -> bytes | None:
    """``clip.json`` for ``clip.mp4``; None for a name without a suffix."""
    by_name, by_stem = sidecar_names(rel_path)
    return None if by_stem == by_name else by_stem


def stem_siblings(session: Session, row: StationFile) -> list[StationFile]:
    """The station's other recordings that ``clip.json`` would also belong to."""
    mine = stem_sidecar(bytes(row.rel_path_raw))
    if mine is None:
        return []
    prefix = display_name(mine[: -len(b"json")])  # "CAM1/clip."
    candidates = session.execute(
        select(StationFile).where(
            StationFile.station_id == row.station_id,
            StationFile.id != row.id,
            StationFile.rel_path.startswith(prefix, autoescape=True),
            StationFile.state != FileState.VANISHED,
        )
    ).scalars()
    return [c for c in candidates if stem_sidecar(bytes(c.rel_path_raw)) == mine]


def unapplied_if_shared(
    sidecar: Sidecar | None, row: StationFile, session: Session
) -> Sidecar | None:
    if sidecar is None:
        return None
    mine = stem_sidecar(bytes(row.rel_path_raw))
    if mine is None or sidecar.name != display_name(mine):
        return sidecar  # clip.mp4.json names its recording exactly
    others = stem_siblings(session, row)
    if not others:
        return sidecar
    names = ", ".join(sorted(o.rel_path for o in others))
    return replace(
        sidecar,
        metadata=None,
        problem=f"{sidecar.name} could belong to {names} as well: kept with each recording,"
        " its metadata applied to none",
    )


def left_on_station(session: Session, row: StationFile, station: str) -> tuple[bytes, ...]:
    """Companions to leave on the station when acknowledging ``row``: a sidecar the vault
    did not keep with its item (one over the size limit: moving or deleting it would lose
    it), and a shared stem sidecar while another of its recordings still needs it."""
    kept = set(
        session.execute(
            select(ItemSidecar.name).where(
                ItemSidecar.item_id == row.item_id, ItemSidecar.station == station
            )
        ).scalars()
    )
    left = [name for name in sidecar_names(bytes(row.rel_path_raw))
            if display_name(name) not in kept]  # fmt: skip
    mine = stem_sidecar(bytes(row.rel_path_raw))
    if mine is not None and mine not in left:
        waiting = [s for s in stem_siblings(session, row) if s.state in NOT_YET_ACKNOWLEDGED]
        if waiting:
            left.append(mine)
    return tuple(left)
