"""Issue 7: the court export proves itself offline. The package is made by the real CLI, then
checked the way its recipient would: the Library of Congress bagit validator, the pyHanko CLI
on the report, and data/verify.py in a virtual environment with nothing installed."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.log.models import CustodyEvent
from tests.conftest import Buckets, Vault, make_vault, run_cli
from tests.custody.test_audit_report import pyhanko_validate
from tests.export.exporting import FPS, Scene, make_scene, run_verifier
from tests.tsa import LocalTsa
from vault.db import unit_of_work
from vault.renditions import frame_hashes
from vault.stores.s3 import S3Store


@pytest.fixture
def scene(vault: Vault) -> Scene:
    return make_scene(vault)


@pytest.fixture(scope="module")
def empty_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A virtual environment with nothing installed: what a court's laptop may have."""
    venv = tmp_path_factory.mktemp("empty-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    probe = subprocess.run([python, "-c", "import cryptography"], capture_output=True, check=False)
    assert probe.returncode != 0, "the empty environment must not see cryptography"
    return python


def hashes(listing: Path) -> list[str]:
    lines = listing.read_text().splitlines()
    return [line.rsplit(",", 1)[1].strip() for line in lines if not line.startswith("#")]


def test_zip_export_validates_with_bagit_pyhanko_and_verify_py(
    scene: Scene,
    tmp_path: Path,
    empty_python: str,
    tsa: LocalTsa,
) -> None:
    vault = scene.vault
    env = vault.env() | {
        "EVAULT_TSA_URL": tsa.url,
        "EVAULT_TSA_TRUST_ROOTS": json.dumps([str(tsa.root_pem)]),
        "EVAULT_TOKEN": scene.token,
    }
    out = tmp_path / "case-117.zip"
    made = run_cli(
        ["export", scene.request, "-o", str(out), "--zip", "--watermark",
         "--clip", f"{scene.long.digest[:12]}@1-2", "-m", "trial bundle"],
        env, vault.root,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    assert "report signed with a time stamp" in " ".join(made.stdout.split())
    with zipfile.ZipFile(out) as archive:
        archive.extractall(tmp_path / "unzipped")
    package = tmp_path / "unzipped" / "case-117"

    validated = subprocess.run(
        [sys.executable, "-m", "bagit", "--validate", str(package)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert validated.returncode == 0 and "is valid" in validated.stderr, validated.stderr

    info = (package / "bag-info.txt").read_text()
    for label in ("Payload-Oxum", "Bagging-Date", "Source-Organization", "Recipient"):
        assert f"{label}:" in info
    assert scene.request in info and "海淀区人民检察院" in info
    for name in ("manifest-sha256.txt", "manifest-sha512.txt", "tagmanifest-sha256.txt"):
        assert (package / name).is_file()

    ca = vault.settings.keys_path / "ca" / "ca.pem"
    checked = pyhanko_validate(package / "data" / "report.pdf", ca, tsa.root_pem)
    assert "The signature is judged VALID" in checked.stdout, checked.stdout + checked.stderr
    assert "timestamp" in checked.stdout.lower()
    assert b"/FontFile2" in (package / "data" / "report.pdf").read_bytes()  # CJK font inside

    verified = run_verifier(package, python=empty_python)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "VERDICT: VERIFIED" in verified.stdout
    assert "RFC 8032 reference code" in verified.stdout  # no cryptography in that venv
    assert "time stamp over the checkpoint verified with openssl" in verified.stdout

    export = json.loads((package / "data" / "custody" / "export.json").read_text())
    with unit_of_work(vault.app.factory) as session:
        exported = session.execute(
            select(CustodyEvent).where(CustodyEvent.kind == "exported")
        ).scalars()
        by_file = {e.data["file"]: e for e in exported if e.data["export"] == export["export"]}
    shipped = [f for f in export["files"] if f["role"] in ("original", "rendition", "clip")]
    assert len(shipped) == 5  # two originals, two watermarked renditions, one clip
    for listed in shipped:
        event = by_file[listed["path"]]  # every file handed over is a custody event
        assert event.data["digest"] == listed["sha256"]
        assert event.actor == "user:li" and event.data["request"] == scene.request
        assert "chain_before" in event.data


def test_clip_frames_are_the_originals_frames(scene: Scene, tmp_path: Path) -> None:
    package = tmp_path / "package"
    scene.export(package, clips=[scene.clip(1.0, 2.0)])
    data = package / "data"
    original = data / "originals" / f"{scene.long.id}.mp4"
    clip = data / "clips" / f"{scene.long.id}.1-2s.mkv"

    frame_hashes(str(original), tmp_path / "original.txt")  # every frame, independently
    frame_hashes(str(clip), tmp_path / "clip.txt")  # the clip, decoded as a reviewer would
    every, clipped = hashes(tmp_path / "original.txt"), hashes(tmp_path / "clip.txt")
    assert len(every) == 3 * FPS
    assert clipped == every[1 * FPS : 2 * FPS]  # frames 15..29 of the original, bit for bit
    listed = hashes(data / "clips" / f"{scene.long.id}.1-2s.original-frames.txt")
    assert listed == clipped
    assert hashes(data / "renditions" / f"{scene.long.id}.original-frames.txt") == every

    provenance = json.loads((data / "clips" / f"{scene.long.id}.1-2s.provenance.json").read_text())
    assert provenance["derived_from"]["original_sha256"] == scene.long.digest
    assert provenance["made"]["ffmpeg_version"].startswith("ffmpeg version")
    assert f"data/originals/{scene.long.id}.mp4" in provenance["made"]["arguments"]
    rendition = json.loads((data / "renditions" / f"{scene.long.id}.provenance.json").read_text())
    assert rendition["made_from_access_copy"]["arguments"][:2] == [
        "-i", f"access copy sha256:{scene.long.digest}",
    ]  # fmt: skip
    assert run_verifier(package).returncode == 0
    audited = run_cli(["audit", "verify"], scene.vault.env(), scene.vault.root)
    assert audited.returncode == 0, audited.stdout + audited.stderr  # the vault stays whole


def test_export_from_the_s3_stores(isolated_env: Path, buckets: Buckets, tmp_path: Path) -> None:
    """The same package when the sealed copy lives under S3 Object Lock (SeaweedFS), even
    after an insider placed a forgery over every sealed key: an original is read at the
    version recorded when it was sealed."""
    vault = make_vault(isolated_env, sealed_store=buckets.sealed, access_store=buckets.access)
    try:
        scene = make_scene(vault)
        sealed = vault.app.stores.sealed
        assert isinstance(sealed, S3Store)
        for item in vault.items():
            sealed.client.put_object(
                Bucket=sealed.bucket, Key=sealed.key_for(item.digest), Body=b"forged"
            )
        package = tmp_path / "from-s3"
        scene.export(package, clips=[scene.clip(0.5, 1.5)], watermark=True)
        verified = run_verifier(package)
        assert verified.returncode == 0, verified.stdout
        with unit_of_work(vault.app.factory) as session:
            stores = {
                e.data["store"]
                for e in session.execute(
                    select(CustodyEvent).where(CustodyEvent.kind == "exported")
                ).scalars()
                if e.data["file"].startswith("data/originals/")
            }
        assert stores == {"sealed"}  # originals come from the sealed set
    finally:
        vault.app.engine.dispose()
