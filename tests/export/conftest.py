"""Fixtures of the hostile-recipient tests: one time-stamped package made once per module
(with a witness file the recipient took from the vault before it), and a fresh copy of it for
each test to attack."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from custody.log.checkpoints import export_witness, run_checkpoint_job
from tests.conftest import make_vault
from tests.export.exporting import make_scene
from tests.export.hostile import Made
from tests.tsa import LocalTsa
from vault.db import unit_of_work


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, tsa: LocalTsa) -> Iterator[Made]:
    root = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("EVAULT_")]:
            patch.delenv(key)
        patch.chdir(root)
        vault = make_vault(root, tsa_url=tsa.url, tsa_trust_roots=[tsa.root_pem])
        try:
            scene = make_scene(vault)
            run_checkpoint_job(vault.app.factory, vault.settings, vault.app.stores.sealed)
            with unit_of_work(vault.app.factory, read_only=True) as session:
                witness = export_witness(session)
            held = root / "witness.json"
            held.write_text(witness.to_json())
            package = root / "pristine"
            scene.export(package)
            yield Made(package, scene, held, witness.verifier_keys[0], tsa.root_pem)
        finally:
            vault.app.engine.dispose()


@pytest.fixture
def attacked(made: Made, tmp_path: Path) -> Path:
    """A copy of the pristine package for one test to attack."""
    copy = tmp_path / "package"
    shutil.copytree(made.package, copy, symlinks=True)
    return copy
