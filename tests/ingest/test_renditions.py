"""Renditions: a standard MP4 of each item, recorded in custody; unreadable input fails with
ffmpeg's reason and the item stays sealed. On every store layout the vault runs on."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from custody.log.models import CustodyEvent
from ingest.renditions import render_pending
from tests.conftest import Buckets, Vault, make_vault, put_clip, run_cli
from vault.db import unit_of_work
from vault.models import Rendition, RenditionStatus
from vault.renditions import RenditionFailed, transcode
from vault.stores.protocol import rehash


def rendition_events(vault: Vault) -> list[CustodyEvent]:
    with unit_of_work(vault.app.factory) as session:
        return list(
            session.execute(
                select(CustodyEvent)
                .where(CustodyEvent.kind.in_(["rendition_made", "rendition_failed"]))
                .order_by(CustodyEvent.seq)
            ).scalars()
        )


def check_renditions(vault: Vault) -> None:
    made, failed = render_pending(vault.ingest_context())
    assert (made, failed) == (1, 1)
    assert render_pending(vault.ingest_context()) == (0, 0)  # nothing twice
    by_name = {i.original_name: i for i in vault.items()}
    events = {e.item_id: e for e in rendition_events(vault)}
    good, bad = by_name["clip.mp4"], by_name["notes.mp4"]

    made_event = events[good.id]
    assert made_event.kind == "rendition_made"
    digest = made_event.data["digest"]
    assert rehash(vault.app.stores.access, digest)[0] == digest
    assert made_event.data["source_digest"] == good.digest
    assert "libx264" in made_event.data["arguments"]
    assert made_event.data["ffmpeg_version"].startswith("ffmpeg version")
    assert not any("X-Amz" in a or "Signature" in a for a in made_event.data["arguments"])
    with vault.app.stores.access.open(digest) as stream:
        data = stream.read()
        stream.seek(0)
        with av.open(stream, format="mov") as container:
            video = container.streams.video[0]
            assert video.codec_context.name == "h264"
            assert video.codec_context.pix_fmt == "yuv420p"
            assert container.streams.audio[0].codec_context.name == "aac"
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # +faststart: the index comes first
    failed_event = events[bad.id]
    assert failed_event.kind == "rendition_failed"
    assert failed_event.data["reason"]
    with unit_of_work(vault.app.factory) as session:
        states = {r.item_id: r.status for r in session.execute(select(Rendition)).scalars()}
    assert states == {good.id: RenditionStatus.MADE, bad.id: RenditionStatus.FAILED}
    result = run_cli(["verify"], vault.env(), vault.root)
    assert result.returncode == 0, result.stdout + result.stderr


def stage(vault: Vault, clip_dir: Path) -> None:
    put_clip(clip_dir, 2, vault.station_dir / "CAM1" / "clip.mp4")
    notes = vault.station_dir / "CAM1" / "notes.mp4"
    notes.write_bytes(hashlib.sha256(b"seed").digest() * 4096)  # not a video at all
    vault.ingest()


def test_rendition_made_and_failed(vault: Vault, clip_dir: Path) -> None:
    stage(vault, clip_dir)
    check_renditions(vault)


def test_rendition_from_an_s3_access_copy(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> None:
    """ffmpeg reads the access copy through a short-lived presigned URL, which must not end
    up in the custody record."""
    vault = make_vault(isolated_env, sealed_store=buckets.sealed, access_store=buckets.access)
    stage(vault, clip_dir)
    check_renditions(vault)
    vault.app.engine.dispose()


def test_a_stuck_ffmpeg_is_killed_not_waited_on(clip_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(RenditionFailed, match="did not finish"):
        transcode(str(clip_dir / "clip0.mp4"), tmp_path / "out.mp4", timeout=0.001)
