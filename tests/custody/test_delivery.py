"""Invariant 3: no byte reaches a person without its custody event, and there is one path."""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from custody.access.delivery import ByteRange, deliver
from custody.log.kinds import EventKind
from tests.conftest import REPO, Vault, put_clip
from vault.errors import DeliveryAborted


@pytest.fixture
def one_item(vault: Vault, clip_dir: Path) -> Vault:
    put_clip(clip_dir, 0, vault.station_dir / "D" / "a.mp4")
    vault.ingest()
    return vault


def delivered_events(vault: Vault) -> list[tuple[str, str, str, dict[str, object]]]:
    # A separate engine: sees only what was committed, as any other process would.
    other = create_engine(vault.settings.database)
    with other.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT kind, actor, reason, data FROM custody_event"
                " WHERE kind IN ('viewed', 'downloaded') ORDER BY seq"
            )
        ).all()
    other.dispose()
    return [(k, a, r, json.loads(d) if isinstance(d, str) else d) for k, a, r, d in rows]


def test_event_is_committed_before_the_first_byte(one_item: Vault) -> None:
    [item] = one_item.items()
    stream = deliver(
        one_item.app.factory,
        store=one_item.app.stores.access,
        item_id=item.id,
        kind=EventKind.DOWNLOADED,
        actor="investigator:wang",
        reason="case 42",
        request="REQ-1",
        chunk_size=4096,
    )
    # Nothing consumed yet, and the event is already durable for every other reader.
    [(kind, actor, reason, data)] = delivered_events(one_item)
    assert (kind, actor, reason) == ("downloaded", "investigator:wang", "case 42")
    body = b"".join(stream)
    assert hashlib.sha256(body).hexdigest() == data["digest"] == item.digest
    assert data["request"] == "REQ-1" and data["length"] == item.size


def test_range_delivery_records_the_digest_of_exactly_that_range(one_item: Vault) -> None:
    [item] = one_item.items()
    span = ByteRange(100, 5000)
    stream = deliver(
        one_item.app.factory,
        store=one_item.app.stores.access,
        item_id=item.id,
        kind=EventKind.VIEWED,
        actor="investigator:li",
        reason="review",
        byte_range=span,
    )
    body = b"".join(stream)
    assert len(body) == 5000
    [(_, _, _, data)] = delivered_events(one_item)
    assert data["digest"] == hashlib.sha256(body).hexdigest()
    assert (data["offset"], data["length"]) == (100, 5000)


def test_no_reason_no_bytes(one_item: Vault) -> None:
    [item] = one_item.items()
    with pytest.raises(ValueError, match="reason"):
        deliver(
            one_item.app.factory,
            store=one_item.app.stores.access,
            item_id=item.id,
            kind=EventKind.VIEWED,
            actor="x",
            reason="  ",
        )
    assert delivered_events(one_item) == []


def test_damaged_object_is_never_delivered_whole(one_item: Vault) -> None:
    [item] = one_item.items()
    os.chmod(item.access_locator, 0o644)
    with open(item.access_locator, "r+b") as handle:
        handle.seek(10)
        handle.write(b"\xff")
    stream = deliver(
        one_item.app.factory,
        store=one_item.app.stores.access,
        item_id=item.id,
        kind=EventKind.DOWNLOADED,
        actor="x",
        reason="y",
        chunk_size=1024,
    )
    received = bytearray()
    with pytest.raises(DeliveryAborted, match="no longer matches its digest"):
        for chunk in stream:
            received.extend(chunk)
    assert len(received) < item.size


# Modules allowed to open stored objects: the stores themselves, ingest (copying and probing
# what it just wrote), verification, the one delivery function, and the reading of a
# destruction register (a document the vault made, never evidence).
ALLOWED_OPENERS = {
    "vault/stores/protocol.py",
    "vault/stores/filesystem.py",
    "ingest/pipeline.py",
    "ingest/virus.py",  # the virus scanner reads the sealed copy; no person gets the bytes
    "ingest/rescan.py",  # scanning the sealed copy again later; no person gets the bytes
    "custody/access/delivery.py",
    "retention/register_store.py",
}


def test_only_the_delivery_function_opens_stored_objects_for_people() -> None:
    offenders = []
    for package in ("config", "vault", "custody", "retention", "ingest", "export", "api"):
        for path in (REPO / package).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "open"
                    and rel not in ALLOWED_OPENERS
                    and _receiver(node.func.value)
                    in {"store", "sealed", "access", "stores.sealed", "stores.access"}
                ):
                    offenders.append(f"{rel}:{node.lineno}")
    assert offenders == [], f"stored objects opened outside the allowed paths: {offenders}"


def _receiver(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _receiver(node.value)
        return f"{inner.split('.')[-1]}.{node.attr}" if inner else node.attr
    return ""
