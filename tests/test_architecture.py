"""The house rules that are contracts, not habits: the layer order of the packages and the
purity of the pure modules (pyproject.toml [tool.importlinter], checked by import-linter),
and one error tree whose every class has its HTTP problem and exit code in api.error_table."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

from api.error_table import TABLE, outcome_for
from vault.errors import VaultError

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "vault", "custody", "retention", "ingest", "export", "api")
# Copied into every export package and run by strangers with the standard library only.
STANDALONE = {"export/verify.py"}


def test_the_layer_and_purity_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def _all_subclasses(cls: type[VaultError]) -> set[type[VaultError]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


def test_every_vault_error_has_its_own_row_in_the_one_table() -> None:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            if info.name != "export.verify":
                importlib.import_module(info.name)
    base = TABLE[-1]
    assert base.error is VaultError
    unmapped = [
        cls.__qualname__
        for cls in _all_subclasses(VaultError)
        if not cls.__module__.startswith("tests") and outcome_for(cls) is base
    ]
    assert unmapped == [], f"errors that fall through to 'internal': {unmapped}"


def test_every_exception_class_is_in_the_vault_error_tree() -> None:
    outside = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if rel in STANDALONE:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name != "VaultError"
                    and any(
                        isinstance(b, ast.Name)
                        and b.id in {"Exception", "ValueError", "RuntimeError"}
                        for b in node.bases
                    )
                ):
                    outside.append(f"{rel}:{node.lineno} {node.name}")
    assert outside == [], f"exceptions outside VaultError: {outside}"
