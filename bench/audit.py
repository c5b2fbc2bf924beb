"""Audit verification and Merkle proofs on a large custody log, against plain hashing.

    python bench/audit.py [--entries 1000000] [--items 10000] [--proofs 2000] [--dir PATH]

Builds a fresh embedded vault (SQLite) whose log holds N entries spread over M items (with
their Merkle nodes, as appends would have stored them), signs a checkpoint, then prints in
one run: the full verification (`evault audit verify` without re-hashing objects: every entry
re-canonicalised and re-hashed, every chain, the whole tree, every stored node, the
checkpoint) in seconds and entries/s; inclusion proofs generated from the database and
verified per second; and the floor, one plain SHA-256 pass over the same entry bytes, with
the ratio. Targets: full verification within 10x the floor; an inclusion proof under 5 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402

from api.context import open_context  # noqa: E402
from config.settings import Settings  # noqa: E402
from custody.log.audit import audit  # noqa: E402
from custody.log.canonical import GENESIS_HASH, canonical_bytes, chain_hash, event_document  # noqa: E402
from custody.log.checkpoints import create_checkpoint, seal_pending  # noqa: E402
from custody.log.merkle import TreeBuilder, leaf_hash, verify_inclusion  # noqa: E402
from custody.log.merkle_store import stored_inclusion_proof, stored_root  # noqa: E402
from custody.log.models import ChainHead, CustodyEvent, LogHead  # noqa: E402
from custody.log.proof_models import MerkleNode  # noqa: E402
from vault.db import unit_of_work, utcnow  # noqa: E402
from vault.models import EvidenceItem, ItemStatus, MediaStatus, Station  # noqa: E402

BATCH = 20_000


def build(data_dir: Path, entries: int, items: int) -> list[bytes]:
    """The log, as appends would have written it; returns every entry's canonical bytes."""
    context = open_context(Settings(data_dir=data_dir), migrate=True)
    now = utcnow()
    ids = [uuid.uuid4() for _ in range(items)]
    with unit_of_work(context.factory) as session:
        station = Station(name="bench", kind="local", location="")
        session.add(station)
        session.flush()
        session.execute(
            insert(EvidenceItem),
            [
                {"id": item, "digest": hashlib.sha256(item.bytes).hexdigest(), "size": 1,
                 "media_type": "video/mp4", "original_name": f"{n}.mp4",
                 "original_name_raw": f"{n}.mp4".encode(), "station_id": station.id,
                 "docked_at": now, "ingested_at": now, "media_status": MediaStatus.PROBED,
                 "sealed_locator": "bench", "access_locator": "bench",
                 "status": ItemStatus.PRESERVED}
                for n, item in enumerate(ids)
            ],
        )  # fmt: skip
    heads: dict[uuid.UUID, tuple[int, int, bytes]] = {}
    tree, canonical_all, events, nodes = TreeBuilder(), [], [], []
    last_hash = GENESIS_HASH
    for seq in range(1, entries + 1):
        item = ids[(seq - 1) % items]
        length, _, prev = heads.get(item, (0, 0, GENESIS_HASH))
        kind = "ingested" if length == 0 else "fixity_ok"
        at = now + timedelta(microseconds=seq)
        data = {"store": "sealed", "digest": hashlib.sha256(item.bytes).hexdigest(), "size": 1}
        document = event_document(
            seq=seq, item=item, kind=kind, actor="bench", at=at, reason=None, data=data
        )
        canonical = canonical_bytes(document)
        last_hash = chain_hash(prev_hash=prev, canonical=canonical)
        heads[item] = (length + 1, seq, last_hash)
        canonical_all.append(canonical)
        events.append({"seq": seq, "item_id": item, "kind": kind, "actor": "bench", "at": at,
                       "reason": None, "data": data, "prev_hash": prev,
                       "entry_hash": last_hash})  # fmt: skip
        nodes.extend(
            {"level": lv, "position": p, "hash": h}
            for lv, p, h in tree.append(leaf_hash(canonical))
        )
        if len(events) >= BATCH or seq == entries:
            with unit_of_work(context.factory) as session:
                session.execute(insert(CustodyEvent), events)
                session.execute(insert(MerkleNode), nodes)
            events, nodes = [], []
    with unit_of_work(context.factory) as session:
        session.execute(
            insert(ChainHead),
            [{"item_id": i, "length": n, "last_seq": s, "head_hash": h}
             for i, (n, s, h) in heads.items()],
        )  # fmt: skip
        head = session.get(LogHead, 1)
        assert head is not None
        head.last_seq, head.last_hash = entries, last_hash
        assert stored_root(session, entries) == tree.root()
        create_checkpoint(session, context.settings)
    seal_pending(context.factory, context.stores.sealed)
    context.engine.dispose()
    return canonical_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="evault-bench-audit-", dir=args.dir))
    try:
        started = time.perf_counter()
        canonical = build(work / "data", args.entries, args.items)
        print(f"built a log of {args.entries} entries over {args.items} items"
              f" in {time.perf_counter() - started:.1f} s")  # fmt: skip

        started = time.perf_counter()
        for entry in canonical:
            hashlib.sha256(entry).digest()
        floor = time.perf_counter() - started
        total = sum(len(e) for e in canonical)
        del canonical

        context = open_context(Settings(data_dir=work / "data"))
        started = time.perf_counter()
        with unit_of_work(context.factory, read_only=True) as session:
            report = audit(session, context.stores, rehash_objects=False)
        verify_s = time.perf_counter() - started
        if not report.ok:
            raise SystemExit(f"the bench log failed verification: {report.findings[:3]}")

        rng = random.Random(1)
        seqs = [rng.randint(1, args.entries) for _ in range(args.proofs)]
        with unit_of_work(context.factory, read_only=True) as session:
            root = stored_root(session, args.entries)
            started = time.perf_counter()
            proofs = [stored_inclusion_proof(session, seq=s, size=args.entries) for s in seqs]
            generate_s = time.perf_counter() - started
            leaves = {
                s: bytes(session.get(MerkleNode, (0, s - 1)).hash)  # type: ignore[union-attr]
                for s in seqs
            }
        started = time.perf_counter()
        for s, proof in zip(seqs, proofs, strict=True):
            verify_inclusion(leaves[s], s - 1, args.entries, proof, root)
        check_s = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        print(
            f"floor: SHA-256 of the {args.entries} entries' bytes ({total / 1e6:.0f} MB)"
            f"   {floor:8.2f} s  {args.entries / floor:12,.0f} entries/s"
        )
        print(
            f"full verification (chains, tree, nodes, checkpoint) {verify_s:8.2f} s"
            f"  {args.entries / verify_s:12,.0f} entries/s"
        )
        print(f"ratio verification/floor: {verify_s / floor:.1f} (target <= 10)")
        print(
            f"inclusion proof from the database: {generate_s / args.proofs * 1000:.2f} ms each"
            f" ({args.proofs / generate_s:,.0f}/s; target < 5 ms); verification"
            f" {check_s / args.proofs * 1e6:.0f} us each ({args.proofs / check_s:,.0f}/s)"
        )
        print(f"peak RSS of this process: {peak:.0f} MiB")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
