"""Issue 19: a hostile recipient's changes to a court export, each made with every BagIt
manifest regenerated (so a BagIt validator passes them): data/verify.py must fail naming the
file or field, and, where the change points outside the package, must not open anything
there (a Python audit hook records every file it opens)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.log.keys import ensure_key
from custody.log.signed_note import sign_note, split_note, verifier_key
from custody.log.timestamps import fetch_token
from tests.export.hostile import (
    Made,
    manifest,
    rebag,
    relist,
    retag,
    sha256,
    verify,
    write_manifest,
)
from tests.tsa import local_tsa
from vault.db import unit_of_work

pytestmark = pytest.mark.one_database  # verify.py reads files; the database made them once

Attack = Callable[[Path, Made], str]  # changes the package; returns what the verdict must say


def _original(made: Made, which: str = "long") -> str:
    item = getattr(made.scene, which)
    return f"data/originals/{item.id}.mp4"


# --- Reads outside the bag -----------------------------------------------------------------


def tag_manifest_names_an_absolute_path(package: Path, made: Made) -> str:
    target = Path("/etc/hostname")
    with open(package / "tagmanifest-sha256.txt", "a") as out:
        out.write(f"{sha256(target)}  {target}\n")
    return "tagmanifest-sha256.txt line 5 names '/etc/hostname', which is an absolute path"


def tag_manifest_climbs_out(package: Path, made: Made) -> str:
    outside = package.parent / "x"
    outside.write_text("a file beside the package\n")
    with open(package / "tagmanifest-sha256.txt", "a") as out:
        out.write(f"{sha256(outside)}  ../x\n")
    return "tagmanifest-sha256.txt line 5 names '../x', which is not a plain relative path"


def original_is_a_symbolic_link(package: Path, made: Made) -> str:
    path = _original(made)
    outside = package.parent / "elsewhere.mp4"
    shutil.move(package / path, outside)
    os.symlink(outside, package / path)  # the same bytes: every manifest still holds
    return f"{path} is a symbolic link"


def a_named_pipe(package: Path, made: Made) -> str:
    """Opening a FIFO would block for ever: it must be named, never opened."""
    os.mkfifo(package / "data" / "originals" / "pipe.mp4")
    return "data/originals/pipe.mp4 is not a regular file (a device, pipe or socket)"


OUTSIDE = [a_named_pipe, tag_manifest_names_an_absolute_path, tag_manifest_climbs_out,
           original_is_a_symbolic_link]  # fmt: skip


# --- Not bound to the signed log before ----------------------------------------------------


def extra_file_beside_the_payload(package: Path, made: Made) -> str:
    (package / "data" / "notes.txt").write_text("the officer was not there\n")
    rebag(package)
    return "data/notes.txt is in the package but not in the export's signed manifest"


def extra_empty_folder(package: Path, made: Made) -> str:
    (package / "data" / "originals" / "more").mkdir()
    rebag(package)
    return "folder data/originals/more is not part of the export"


def renamed_file(package: Path, made: Made) -> str:
    path = f"data/renditions/{made.scene.long.id}.mp4"
    (package / path).rename(package / path.replace(".mp4", ".copy.mp4"))
    rebag(package)
    return f"{path} is named by the export's signed manifest but missing"


def duplicated_file(package: Path, made: Made) -> str:
    shutil.copyfile(package / _original(made), package / "data/originals/again.mp4")
    rebag(package)
    return "data/originals/again.mp4 is in the package but not in the export's signed manifest"


def hard_link(package: Path, made: Made) -> str:
    path = _original(made)
    os.link(package / path, package / "data/originals/linked.mp4")
    rebag(package)
    return f"{path} is a hard link (2 names for the same bytes)"


def edited_recipient(package: Path, made: Made) -> str:
    info = package / "bag-info.txt"
    lines = info.read_text().splitlines()
    lines = [("Recipient: Another Court" if x.startswith("Recipient:") else x) for x in lines]
    info.write_text("\n".join(lines) + "\n")
    retag(package)
    return "bag-info.txt Recipient is ['Another Court']; the export's signed manifest says"


def removed_item(package: Path, made: Made) -> str:
    gone = str(made.scene.short.id)
    document = manifest(package)
    document["items"] = [i for i in document["items"] if i != gone]  # type: ignore[attr-defined]
    files = document["files"]
    document["files"] = [f for f in files if f["item"] != gone]  # type: ignore[attr-defined]
    write_manifest(package, document)
    for listed in files:  # type: ignore[attr-defined]
        if listed["item"] == gone:
            (package / listed["path"]).unlink()
    shutil.rmtree(package / "data" / "custody" / gone)
    rebag(package)
    return (
        f"data/custody/export.json is not the file export {document['export']} recorded in item"
        f" {made.scene.long.id}'s entry"
    )


def cut_chain_and_its_files(package: Path, made: Made) -> str:
    """The chain ends before the export's entries, and the files they name are gone."""
    item = str(made.scene.long.id)
    folder = package / "data" / "custody" / item
    lines = (folder / "entries.jsonl").read_bytes().splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    keep = kinds.index("exported")
    (folder / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines[:keep]))
    proofs = json.loads((folder / "proofs.json").read_text())
    proofs["entries"] = proofs["entries"][:keep]
    (folder / "proofs.json").write_text(json.dumps(proofs))
    document = manifest(package)
    named = [f for f in document["files"] if f["item"] == item and f["role"] != "description"]  # type: ignore[attr-defined]
    document["files"] = [f for f in document["files"] if f not in named]  # type: ignore[attr-defined]
    write_manifest(package, document)
    for listed in named:
        (package / listed["path"]).unlink()
    rebag(package)
    return f"data/custody/{item}: no export_packaged entry of export {document['export']}"


def edited_frame_hashes(package: Path, made: Made) -> str:
    path = f"data/renditions/{made.scene.long.id}.original-frames.txt"
    text = (package / path).read_text()
    (package / path).write_text(text.replace("0,", "1,", 1))
    relist(package, path)
    rebag(package)
    return "data/custody/export.json is not the file export"


def edited_provenance(package: Path, made: Made) -> str:
    path = f"data/renditions/{made.scene.long.id}.provenance.json"
    document = json.loads((package / path).read_text())
    document["made_from_access_copy"]["ffmpeg_version"] = "a version that never was"
    (package / path).write_text(json.dumps(document))
    relist(package, path)
    rebag(package)
    return "data/custody/export.json is not the file export"


def edited_manifest_only(package: Path, made: Made) -> str:
    """The recipient's name changed in both the bag-info and the manifest."""
    document = manifest(package)
    document["recipient"] = "Another Court"
    document["bag_info"]["Recipient"] = "Another Court"  # type: ignore[index]
    write_manifest(package, document)
    rebag(package)
    return "data/custody/export.json is not the file export"


def replaced_report(package: Path, made: Made) -> str:
    report = package / "data" / "report.pdf"
    report.write_bytes(report.read_bytes() + b"\n% an appended revision\n")
    rebag(package)
    return "data/report.pdf is not the file export"


def removed_time_stamp(package: Path, made: Made) -> str:
    (package / "data/custody/checkpoint.tsr").unlink()
    (package / "data/custody/tsa-roots.pem").unlink()
    rebag(package)
    return "data/custody/checkpoint.tsr is missing: the signed manifest promises an RFC 3161"


def added_bag_info_label(package: Path, made: Made) -> str:
    with open(package / "bag-info.txt", "a") as out:
        out.write("Internal-Sender-Description: sealed by the court\n")
    retag(package)
    return "bag-info.txt Internal-Sender-Description is not in the export's signed manifest"


UNBOUND = [extra_file_beside_the_payload, extra_empty_folder, renamed_file, duplicated_file,
           hard_link, edited_recipient, removed_item, cut_chain_and_its_files,
           edited_frame_hashes, edited_provenance, edited_manifest_only, replaced_report,
           removed_time_stamp, added_bag_info_label]  # fmt: skip


def test_the_pristine_package_verifies_opening_only_its_own_files(
    attacked: Path, made: Made
) -> None:
    verdict = verify(attacked)
    assert verdict.code == 0, verdict.stdout
    assert "VERDICT: VERIFIED, consistent with itself, origin not proven" in verdict.stdout
    assert "time stamp over the checkpoint verified with openssl" in verdict.stdout
    assert "the package holds exactly the" in verdict.stdout
    assert verdict.outside(attacked) == []
    assert len(verdict.opened) > 20  # the hook saw the files it read
    validated = subprocess.run(
        [sys.executable, "-m", "bagit", "--validate", str(attacked)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert validated.returncode == 0 and "is valid" in validated.stderr, validated.stderr
    assert (attacked / "bagit.txt").read_text() == (
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )


def _pythons() -> dict[str, str]:
    """A working interpreter of each Python 3.9 to 3.13 found on PATH or under pyenv."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(9, 14)]
    candidates += [str(p) for p in Path.home().glob(".pyenv/versions/3.*/bin/python3")]
    found: dict[str, str] = {}
    for python in filter(None, candidates):
        probe = subprocess.run(
            [python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        version = probe.stdout.strip()
        if probe.returncode == 0 and version in {f"3.{minor}" for minor in range(9, 14)}:
            found.setdefault(version, python)
    return dict(sorted(found.items()))


def test_the_clean_package_verifies_on_every_python_from_3_9(attacked: Path) -> None:
    """verify.py needs nothing but the standard library of Python 3.9 or later: checked
    statically (vermin) and by running it on every Python 3.9 to 3.13 this machine has."""
    checked = subprocess.run(
        [str(Path(sys.executable).with_name("vermin")), "--no-tips", "--violations", "-t=3.9-",
         str(attacked / "data" / "verify.py")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    pythons = _pythons()
    assert f"3.{sys.version_info.minor}" in pythons
    for python in pythons.values():
        verdict = verify(attacked, python=python)
        assert verdict.code == 0, (python, verdict.stdout)
        assert verdict.outside(attacked) == []


@pytest.mark.parametrize("attack", OUTSIDE, ids=lambda a: a.__name__)
def test_nothing_outside_the_package_is_opened(attacked: Path, made: Made, attack: Attack) -> None:
    expected = attack(attacked, made)
    verdict = verify(attacked)
    assert verdict.code == 1, verdict.stdout
    assert expected in verdict.stdout, verdict.stdout
    assert verdict.outside(attacked) == [], verdict.outside(attacked)


def test_a_symbolic_link_through_zip_and_unzip_is_not_followed(
    attacked: Path, made: Made, tmp_path: Path
) -> None:
    expected = original_is_a_symbolic_link(attacked, made)
    subprocess.run(["zip", "-q", "-y", "-r", "package.zip", "package"], cwd=tmp_path, check=True)
    subprocess.run(["unzip", "-q", "package.zip", "-d", "unzipped"], cwd=tmp_path, check=True)
    unzipped = tmp_path / "unzipped" / "package"
    assert (unzipped / _original(made)).is_symlink()
    verdict = verify(unzipped)
    assert verdict.code == 1 and expected in verdict.stdout, verdict.stdout
    assert verdict.outside(unzipped) == [], verdict.outside(unzipped)


@pytest.mark.parametrize("attack", UNBOUND, ids=lambda a: a.__name__)
def test_every_file_is_bound_to_the_signed_log(attacked: Path, made: Made, attack: Attack) -> None:
    expected = attack(attacked, made)
    verdict = verify(attacked)
    assert verdict.code == 1, verdict.stdout
    assert "VERDICT: FAILED" in verdict.stdout
    assert expected in verdict.stdout, verdict.stdout


# --- Who signed it -------------------------------------------------------------------------


def _checkpoint(package: Path) -> Path:
    return package / "data" / "custody" / "checkpoint.txt"


def test_a_cosigned_checkpoint_verifies(attacked: Path, made: Made) -> None:
    """C2SP signed note: signatures of unknown keys are ignored. A tlog-cosignature line
    (key ID, 8-byte time, signature) of a witness is added."""
    note = _checkpoint(attacked).read_text()
    text, _ = split_note(note)
    witness = Ed25519PrivateKey.generate()
    public = witness.public_key().public_bytes_raw()
    key_id = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    blob = key_id + (1_800_000_000).to_bytes(8, "big") + witness.sign(text.encode())
    line = f"\u2014 witness.example/w1 {base64.b64encode(blob).decode()}\n"
    other = sign_note(text, name="another.log/key", key=Ed25519PrivateKey.generate())
    _checkpoint(attacked).write_text(note + line + other[len(text) + 1 :])
    rebag(attacked)
    verdict = verify(attacked, "--key", made.log_key)
    assert verdict.code == 0, verdict.stdout
    assert "2 signature(s) of other keys ignored" in verdict.stdout


def _resign(package: Path, tsa: Path) -> str:
    """Re-sign the checkpoint end to end with the attacker's own key of the vault's name, and
    time-stamp it at the attacker's own TSA, whose root the package now ships."""
    note = _checkpoint(package).read_text()
    text, signatures = split_note(note)
    name = signatures[0][0]
    key = Ed25519PrivateKey.generate()
    resigned = sign_note(text, name=name, key=key)
    _checkpoint(package).write_text(resigned)
    forged = verifier_key(name, key.public_key().public_bytes_raw())
    (package / "data" / "custody" / "log-keys.txt").write_text(forged + "\n")
    tsa.mkdir()
    with local_tsa(tsa) as theirs:
        token = fetch_token(theirs.url, resigned.encode())
        (package / "data/custody/checkpoint.tsr").write_bytes(token)
        shutil.copyfile(theirs.root_pem, package / "data/custody/tsa-roots.pem")
    rebag(package)
    return forged


def test_a_package_re_signed_with_another_key_proves_nothing_of_its_origin(
    attacked: Path, made: Made, tmp_path: Path
) -> None:
    _resign(attacked, tmp_path / "their-tsa")
    alone = verify(attacked)
    assert alone.code == 0, alone.stdout
    assert "VERDICT: VERIFIED, consistent with itself, origin not proven" in alone.stdout
    with_key = verify(attacked, "--key", made.log_key)
    assert with_key.code == 1
    assert "checkpoint.txt carries no valid signature from a trusted key" in with_key.stdout
    with_witness = verify(attacked, "--witness", str(made.witness))
    assert with_witness.code == 1, with_witness.stdout
    assert "checkpoint.txt carries no valid signature from a trusted key" in with_witness.stdout
    their_stamp = verify(attacked, "--tsa-root", str(made.tsa_root))
    assert their_stamp.code == 1
    assert "checkpoint.tsr: the RFC 3161 time stamp does not verify" in their_stamp.stdout


def test_the_vaults_key_and_a_witnessed_checkpoint_prove_the_origin(
    attacked: Path, made: Made
) -> None:
    origin = split_note(_checkpoint(attacked).read_text())[0].split("\n")[0]
    verdict = verify(attacked, "--key", made.log_key, "--tsa-root", str(made.tsa_root))
    assert verdict.code == 0, verdict.stdout
    assert f"From vault {origin}: checkpoint of" in verdict.stdout
    assert f"signed by key {made.log_key}" in verdict.stdout
    witnessed = verify(attacked, "--witness", str(made.witness))
    assert witnessed.code == 0, witnessed.stdout
    assert "the package's checkpoint extends the checkpoint you witnessed" in witnessed.stdout
    assert "it extends the checkpoint you witnessed" in witnessed.stdout


def test_a_witness_of_another_history_fails(attacked: Path, made: Made, tmp_path: Path) -> None:
    """The vault's own key signed, at the witnessed size, another root (a forked log): the
    attacked's consistency proof does not start from it."""
    held = json.loads(made.witness.read_text())
    text, _ = split_note(held["checkpoint"])
    lines = text.split("\n")
    lines[2] = base64.b64encode(hashlib.sha256(b"another history").digest()).decode()
    vault = made.scene.vault
    with unit_of_work(vault.app.factory) as session:
        row, key = ensure_key(
            session, vault.settings.keys_path, configured_origin=vault.settings.log_origin
        )
        held["checkpoint"] = sign_note("\n".join(lines), name=row.name, key=key)
    fork = tmp_path / "fork.json"
    fork.write_text(json.dumps(held))
    verdict = verify(attacked, "--witness", str(fork))
    assert verdict.code == 1, verdict.stdout
    assert "the checkpoint you witnessed (size" in verdict.stdout
    assert ") is not proven: " in verdict.stdout


def test_a_foreign_tsa_root_fails_the_time_stamp(
    attacked: Path, made: Made, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger.pem"
    ca = Path(made.scene.vault.settings.keys_path) / "ca" / "ca.pem"  # a real CA, not the TSA's
    shutil.copyfile(ca, stranger)
    verdict = verify(attacked, "--tsa-root", str(stranger))
    assert verdict.code == 1, verdict.stdout
    assert "checkpoint.tsr: the RFC 3161 time stamp does not verify against" in verdict.stdout


def test_a_verdict_without_openssl_says_the_time_stamp_was_not_checked(attacked: Path) -> None:
    verdict = verify(attacked, env={"PATH": str(attacked / "no-programs-here")})
    assert verdict.code == 0, verdict.stdout
    assert "RFC 3161 time stamp not checked: openssl is missing" in verdict.stdout
    assert "(not checked: the RFC 3161 time stamp (install openssl))" in verdict.stdout


def test_the_signed_report_states_what_the_package_is_bound_to(attacked: Path, made: Made) -> None:
    text = subprocess.run(
        ["pdftotext", str(attacked / "data" / "report.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    flat = "".join(text.split())
    assert made.log_key in flat
    assert sha256(attacked / "data/custody/export.json") in flat
    assert sha256(attacked / "data/verify.py") in flat
    before = manifest(attacked)["checkpoint_before"]
    assert before["root"] in flat  # type: ignore[index]
    entries = (attacked / "data/custody" / str(made.scene.long.id) / "entries.jsonl").read_text()
    packaged = [json.loads(x) for x in entries.splitlines() if '"export_packaged"' in x]
    assert len(packaged) == 1
    assert packaged[0]["data"]["report_sha256"] == sha256(attacked / "data/report.pdf")
    assert packaged[0]["data"]["manifest_sha256"] == sha256(attacked / "data/custody/export.json")
    assert packaged[0]["data"]["chain_before"]["entries"] == len(entries.splitlines()) - 1
