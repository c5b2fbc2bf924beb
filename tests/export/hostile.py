"""What the hostile-recipient tests share: the attacker's tools (regenerate every BagIt
manifest, edit the unsigned files) and verify.py run under a Python audit hook that records
every file it opens. The package they attack is made by the fixtures in conftest.py."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import bagit

from tests.export.exporting import Scene

# Runs verify.py with an audit hook that logs, for every file opened by path, the path as
# given and where it really leads (a symbolic link is resolved at the moment of the open).
AUDITED = """
import os, runpy, sys
log = open(sys.argv[1], "w", encoding="utf-8")
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])
        log.write(os.path.abspath(path) + "\\t" + os.path.realpath(path) + "\\n")
        log.flush()
sys.addaudithook(hook)
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@dataclass(frozen=True)
class Made:
    """The pristine package and what the recipient holds beside it."""

    package: Path
    scene: Scene
    witness: Path  # `evault checkpoint export` taken before the export
    log_key: str  # the vault's published verifier key
    tsa_root: Path


def rebag(package: Path) -> None:
    """What a careful attacker does after every change: regenerate the payload manifests,
    Payload-Oxum, bag-info.txt and the tag manifests."""
    bagit.Bag(str(package)).save(manifests=True)


def retag(package: Path) -> None:
    """Regenerate bag-info.txt and the tag manifests only."""
    bagit.Bag(str(package)).save(manifests=False)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(package: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((package / "data/custody/export.json").read_text())
    return document


def write_manifest(package: Path, document: dict[str, object]) -> None:
    (package / "data/custody/export.json").write_text(json.dumps(document, indent=2))


def relist(package: Path, *paths: str) -> None:
    """The attacker's export.json records the changed files' new digests and sizes."""
    document = manifest(package)
    for listed in document["files"]:  # type: ignore[attr-defined]
        if listed["path"] in paths:
            listed["sha256"] = sha256(package / listed["path"])
            listed["size"] = (package / listed["path"]).stat().st_size
    write_manifest(package, document)


@dataclass(frozen=True)
class Verdict:
    code: int
    stdout: str
    opened: list[tuple[str, str]]  # (path as opened, where it led)

    def outside(self, package: Path) -> list[tuple[str, str]]:
        """Files opened outside the package, Python's own modules aside."""
        inside = str(package.resolve()) + os.sep
        own = tuple(
            {str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
        )
        return [
            (given, real)
            for given, real in self.opened
            if not (given.startswith(inside) and real.startswith(inside))
            and not given.startswith(own)
            and not given.endswith(".pyc")
        ]


def verify(
    package: Path, *extra: str, python: str = sys.executable, env: dict[str, str] | None = None
) -> Verdict:
    log = package.parent / f"opened-{os.getpid()}-{len(list(package.parent.iterdir()))}.txt"
    done = subprocess.run(
        [python, "-I", "-c", AUDITED, str(log), str(package / "data" / "verify.py"), *extra],
        capture_output=True, text=True, timeout=300, check=False, cwd=package, env=env,
    )  # fmt: skip
    assert not done.stderr.strip(), done.stderr
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    opened = [(given, real) for given, _, real in (line.partition("\t") for line in lines)]
    return Verdict(done.returncode, done.stdout, opened)
