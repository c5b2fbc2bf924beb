"""An audit says exactly what it proved: a vault with no signed checkpoint passes its own
consistency checks, but the verdict (terminal and signed PDF) says that nothing proves it to
an outsider; and the report never overwrites a file."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from custody.log.checkpoints import latest_checkpoint
from tests.conftest import Vault, put_clip, run_cli
from vault.db import unit_of_work
from vault.moments import for_people


def _pdf_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


def test_no_checkpoint_is_said_in_the_verdict_and_the_pdf(vault: Vault, clip_dir: Path) -> None:
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "a.mp4")
    vault.ingest()
    pdf = vault.root / "audit.pdf"
    unsigned = run_cli(["audit", "verify", "--report", str(pdf)], vault.env(), vault.root)
    out = " ".join(unsigned.stdout.split())
    assert unsigned.returncode == 0, out + unsigned.stderr
    assert "NOT PROVEN TO AN OUTSIDER: no checkpoint has been signed" in out
    assert "checkpoint(s)" not in out  # no claim about checkpoints that do not exist
    text = _pdf_text(pdf)
    assert "PASSED, NOT PROVEN TO AN OUTSIDER" in text
    assert "Checkpoints verified 0" in text

    again = run_cli(["audit", "verify", "--report", str(pdf)], vault.env(), vault.root)
    assert again.returncode == 3 and "never overwrites" in again.stderr
    assert _pdf_text(pdf) == text  # the first report is untouched

    signed = run_cli(["checkpoint"], vault.env(), vault.root)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    zone = {"EVAULT_DISPLAY_TIMEZONE": "Asia/Shanghai"}
    proven_pdf = vault.root / "proven.pdf"
    proven = run_cli(["audit", "verify", "--report", str(proven_pdf)], vault.env() | zone,
                     vault.root)  # fmt: skip
    out = " ".join(proven.stdout.split())
    assert proven.returncode == 0 and "1 signed checkpoint(s)" in out
    assert "NOT PROVEN" not in out
    # Times in the PDF as in the CLI and the console: vault.moments' one format, display zone.
    with unit_of_work(vault.app.factory) as session:
        checkpoint = latest_checkpoint(session)
        assert checkpoint is not None
    text = _pdf_text(proven_pdf)
    assert for_people(checkpoint.created_at, "Asia/Shanghai") in text
    assert re.search(r"Report made \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00 \(CST\)", text)
    assert " UTC" not in text

    put_clip(clip_dir, 1, vault.station_dir / "CAM1" / "b.mp4")
    vault.ingest()  # newer entries than the checkpoint
    newer = run_cli(["audit", "verify"], vault.env(), vault.root)
    assert "are not yet covered by a signed checkpoint" in " ".join(newer.stdout.split())
