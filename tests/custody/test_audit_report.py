"""`evault audit verify --report`: a PDF signed by the vault (PAdES, time-stamped by a local
TSA over HTTP) that the pyHanko CLI validates, as an outsider would, and rejects once edited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import Vault, put_clip, run_cli
from tests.custody.test_tamper import flip_byte
from tests.tsa import LocalTsa


def pyhanko_validate(pdf: Path, *trust: Path) -> subprocess.CompletedProcess[str]:
    roots = [arg for root in trust for arg in ("--trust", str(root))]
    return subprocess.run(
        [sys.executable, "-m", "pyhanko", "sign", "validate", "--pretty-print",
         "--trust-replace", *roots, str(pdf)],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_signed_time_stamped_report_validates_and_an_edit_breaks_it(
    vault: Vault,
    clip_dir: Path,
    tmp_path: Path,
    tsa: LocalTsa,
) -> None:
    for n in range(2):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"c{n}.mp4")
    vault.ingest()
    env = vault.env() | {
        "EVAULT_TSA_URL": tsa.url,
        "EVAULT_TSA_TRUST_ROOTS": json.dumps([str(tsa.root_pem)]),
    }
    assert run_cli(["checkpoint"], env, vault.root).returncode == 0
    good = vault.root / "audit.pdf"
    result = run_cli(["audit", "verify", "--report", str(good)], env, vault.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signed with a time stamp" in " ".join(result.stderr.split())

    flip_byte(vault.items()[0].access_locator)
    bad = vault.root / "failed-audit.pdf"
    result = run_cli(["audit", "verify", "--report", str(bad)], env, vault.root)
    assert result.returncode == 1 and bad.exists()  # a failed audit is reported too

    ca = vault.settings.keys_path / "ca" / "ca.pem"
    for pdf in (good, bad):
        checked = pyhanko_validate(pdf, ca, tsa.root_pem)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "The signature is judged VALID" in checked.stdout, checked.stdout
        assert "timestamp" in checked.stdout.lower(), checked.stdout
        assert b"/FontFile2" in pdf.read_bytes()  # bilingual: the CJK font travels with it

    untrusted = pyhanko_validate(good, tsa.root_pem)  # the vault's CA not trusted
    assert "VALID" not in untrusted.stdout.replace("INVALID", "")

    edited = vault.root / "edited.pdf"
    data = bytearray(good.read_bytes())
    data[600] ^= 0x01  # inside the report itself (the first objects), so inside the signed range
    edited.write_bytes(bytes(data))
    checked = pyhanko_validate(edited, ca, tsa.root_pem)
    assert "judged VALID" not in checked.stdout, checked.stdout
