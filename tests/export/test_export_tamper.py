"""Tampering with an exported package, as a careful attacker would: after each change the
attacker re-makes the BagIt manifests (and export.json where it lists the file), so it is
the custody proofs, not just the manifests, that must catch it. data/verify.py must fail and
name the file or the custody entry."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest

from custody.log.signed_note import verifier_key
from tests.conftest import Vault
from tests.export.exporting import Scene, make_scene, run_verifier
from tests.export.test_export import empty_python  # noqa: F401 - a fixture used below

Attack = Callable[[Path, Scene], str]  # changes the package, returns what the verdict must name


def rebag(package: Path) -> None:
    bagit.Bag(str(package)).save(manifests=True)


def relist(package: Path, path: str) -> None:
    """The attacker's export.json lists the changed file's new digest."""
    index_path = package / "data" / "custody" / "export.json"
    index = json.loads(index_path.read_text())
    for listed in index["files"]:
        if listed["path"] == path:
            listed["sha256"] = hashlib.sha256((package / path).read_bytes()).hexdigest()
    index_path.write_text(json.dumps(index, indent=2))


def flip_byte(path: Path, offset: int = 2000) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def flipped_original(package: Path, scene: Scene) -> str:
    path = f"data/originals/{scene.long.id}.mp4"
    flip_byte(package / path)
    return f"{path} does not match its SHA256 in manifest-sha256.txt"


def flipped_original_rebagged(package: Path, scene: Scene) -> str:
    path = f"data/originals/{scene.long.id}.mp4"
    flip_byte(package / path)
    relist(package, path)
    rebag(package)
    return f"{path} is not the file item {scene.long.id}'s custody records as exported"


def swapped_rendition(package: Path, scene: Scene) -> str:
    path = f"data/renditions/{scene.long.id}.mp4"
    shutil.copyfile(package / f"data/renditions/{scene.short.id}.mp4", package / path)
    relist(package, path)
    rebag(package)
    return f"{path} is not the file item {scene.long.id}'s custody records as exported"


def _lines(package: Path, scene: Scene) -> tuple[Path, list[bytes]]:
    path = package / "data" / "custody" / str(scene.long.id) / "entries.jsonl"
    return path, path.read_bytes().splitlines()


def edited_entry(package: Path, scene: Scene) -> str:
    path, lines = _lines(package, scene)
    sealed = json.loads(lines[1])
    assert sealed["kind"] == "sealed"
    lines[1] = lines[1].replace(b'"re-read and matched"', b'"re-read and matchee"')
    path.write_bytes(b"\n".join(lines) + b"\n")
    rebag(package)
    return f"entry seq {sealed['seq']} (sealed) does not follow from the entries before it"


def removed_event(package: Path, scene: Scene) -> str:
    """The access_copy_stored entry goes, and the attacker recomputes every chain hash."""
    path, lines = _lines(package, scene)
    assert json.loads(lines[2])["kind"] == "access_copy_stored"
    del lines[2]
    path.write_bytes(b"\n".join(lines) + b"\n")
    proofs_path = path.with_name("proofs.json")
    proofs = json.loads(proofs_path.read_text())
    del proofs["entries"][2]
    prev = bytes(32)
    for line, proof in zip(lines, proofs["entries"], strict=True):
        prev = hashlib.sha256(b"\x02" + prev + line).digest()
        proof["entry_hash"] = prev.hex()
    proofs_path.write_text(json.dumps(proofs))
    rebag(package)
    first_export = next(json.loads(line) for line in lines if b'"kind":"exported"' in line)
    committed = first_export["data"]["chain_before"]["entries"]
    return f"entry seq {first_export['seq']} (exported) records {committed} earlier entries"


def forged_checkpoint(package: Path, scene: Scene) -> str:
    path = package / "data" / "custody" / "checkpoint.txt"
    lines = path.read_text().split("\n")
    lines[2] = base64.b64encode(hashlib.sha256(b"another log").digest()).decode()
    path.write_text("\n".join(lines))
    rebag(package)
    return "data/custody/checkpoint.txt: the signature of key"


ATTACKS = [flipped_original, flipped_original_rebagged, swapped_rendition, edited_entry,
           removed_event, forged_checkpoint]  # fmt: skip


@pytest.fixture
def package(vault: Vault, tmp_path: Path) -> tuple[Path, Scene]:
    scene = make_scene(vault)
    target = tmp_path / "package"
    scene.export(target)
    assert run_verifier(target).returncode == 0  # pristine, it passes
    return target, scene


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.__name__)
def test_tampered_package_fails_naming_what_changed(
    package: tuple[Path, Scene], attack: Attack
) -> None:
    target, scene = package
    expected = attack(target, scene)
    verdict = run_verifier(target)
    assert verdict.returncode == 1, verdict.stdout
    assert "VERDICT: FAILED" in verdict.stdout
    assert expected in verdict.stdout, verdict.stdout


def test_forged_checkpoint_fails_without_cryptography_too(
    package: tuple[Path, Scene],
    empty_python: str,  # noqa: F811 - the imported fixture
) -> None:
    target, scene = package
    expected = forged_checkpoint(target, scene)
    verdict = run_verifier(target, python=empty_python)
    assert verdict.returncode == 1 and expected in verdict.stdout, verdict.stdout
    assert "RFC 8032" in (target / "data" / "verify.py").read_text()


def test_only_a_trusted_key_is_accepted_when_given(package: tuple[Path, Scene]) -> None:
    target, _ = package
    shipped = (target / "data" / "custody" / "log-keys.txt").read_text().split()
    assert run_verifier(target, "--key", shipped[0]).returncode == 0
    name = shipped[0].split("+", 1)[0]
    other = hashlib.sha256(b"someone else").digest()
    stranger = verifier_key(name, other)
    verdict = run_verifier(target, "--key", stranger)
    assert verdict.returncode == 1
    assert "carries no valid signature from a trusted key" in verdict.stdout
