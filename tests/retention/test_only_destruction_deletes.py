"""Invariant 2: outside the stores themselves, only the destruction workflow deletes a stored
object, and only it can make the DestructionOrder a store's delete() demands."""

from __future__ import annotations

import ast

from tests.conftest import REPO

DELETERS = {"retention/destruction.py"}
# The stores implement delete(); S3 also removes its own incoming upload versions.
STORES = {"vault/stores/filesystem.py", "vault/stores/s3.py", "vault/stores/s3_io.py"}


def _calls() -> list[tuple[str, int, str]]:
    found = []
    for package in ("config", "vault", "custody", "ingest", "retention", "api"):
        for path in (REPO / package).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "DestructionOrder" or (
                    name == "delete" and any(k.arg == "order" for k in node.keywords)
                ):
                    found.append((rel, node.lineno, name))
    return found


def test_only_the_destruction_workflow_deletes_stored_objects() -> None:
    calls = _calls()
    offenders = [
        f"{rel}:{line} {name}" for rel, line, name in calls if rel not in DELETERS | STORES
    ]
    assert offenders == [], f"stored objects deleted outside the destruction workflow: {offenders}"
    # The guard looks at the right thing: the workflow's own calls are seen.
    assert {name for rel, _, name in calls if rel in DELETERS} == {"DestructionOrder", "delete"}
