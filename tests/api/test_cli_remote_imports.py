"""A person's desk runs `evault --url …` reads without the vault's database layer: SQLAlchemy
and the ORM models are not even imported (they were most of `evault list`'s start-up). Checked
with Python's own import log (-X importtime) on the real commands; the far end refuses the
connection, so each command gets as far as its request and exits 5."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.one_database  # no database: nothing answers at the far end

TOKEN = "evt_" + "x" * 43
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["show", "0123456789ab"],
        ["custody", "0123456789ab"],
        ["requests"],
        ["case", "list"],
        ["hold", "list"],
        ["gaps"],
        ["alerts"],
        ["sla"],
    ],
    ids=" ".join,
)
def test_remote_reads_import_no_database_layer(command: list[str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "api.cli.main", "--url", "http://127.0.0.1:9",
         *command, "--token", TOKEN],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 5, done.stdout + done.stderr[-2000:]
    assert "could not be reached" in done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")]  # fmt: skip
    assert "api.cli.reads" in imported  # the command's own read path was loaded
    database = [name for name in imported if name.split(".")[0] == "sqlalchemy"
                or name in ("vault.models", "vault.db", "custody.log.models")]  # fmt: skip
    assert database == []
