"""`evault verify`: recompute every chain from raw rows and re-hash both copies and the rendition.

Nothing stored as a flag is trusted: the answer comes from the rows and the bytes.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.admin.log import AdminCheck, check_admin_log
from custody.log.append import LOG_HEAD_ID
from custody.log.chain_check import EntryRow, Finding, HeadRow, LogChecker
from custody.log.checkpoints import WitnessFile, all_checkpoints
from custody.log.kinds import EventKind
from custody.log.log_scan import StartedScan
from custody.log.models import ChainHead, CustodyEvent, LogHead
from custody.log.signed_note import CheckpointBody, parse_checkpoint, split_note
from custody.log.tree_audit import (
    KeptNote,
    RecomputedTree,
    TreeRecomputer,
    check_checkpoints,
    kept_checkpoints,
    sizes_to_recompute,
)
from vault.errors import NotFound, StoreError, VerificationError
from vault.models import EvidenceItem, ItemStatus
from vault.stores.factory import Stores
from vault.stores.protocol import ObjectStore, rehash

ProgressHook = Callable[[EvidenceItem, int], None]


@dataclass(frozen=True)
class AuditReport:
    items_checked: int
    entries_checked: int
    bytes_rehashed: int
    findings: list[Finding]
    checkpoints_checked: int = 0
    entries_signed: int = 0  # entries the latest valid checkpoint covers
    admin_entries_checked: int = 0  # of the administration log

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def unproven(self) -> list[str]:
        """What the audit could not establish for someone who does not trust the operator:
        without a signed checkpoint, a log consistent with itself may still have been
        rewritten whole."""
        if self.checkpoints_checked == 0:
            return [
                "no checkpoint has been signed: the log agrees with itself, but nothing proves"
                " to an outsider that it was not rewritten (run `evault checkpoint`)"
            ]
        if self.entries_signed < self.entries_checked:
            newer = self.entries_checked - self.entries_signed
            return [
                f"the newest {newer} entries are not yet covered by a signed checkpoint"
                " (the daemon signs one on its schedule; `evault checkpoint` signs one now)"
            ]
        return []


def _stream_entries(session: Session) -> Iterator[EntryRow]:
    # Plain rows in seq order, fetched in batches: a log of millions of entries is read once
    # and never held whole.
    e = CustodyEvent
    rows = session.execute(
        select(e.seq, e.item_id, e.kind, e.actor, e.at, e.reason, e.data, e.prev_hash,
               e.entry_hash, e.canonical)
        .order_by(e.seq)
        .execution_options(yield_per=20_000)
    )  # fmt: skip
    for seq, item_id, kind, actor, at, reason, data, prev, digest, stored in rows:
        yield EntryRow(
            seq, item_id, kind, actor, at, reason, dict(data), bytes(prev), bytes(digest),
            None if stored is None else bytes(stored),
        )  # fmt: skip


# The entries the per-item checks read: the first ingested and sealed, the last rendition.
NOTABLE_FIRST = frozenset(
    {EventKind.INGESTED.value, EventKind.SEALED.value, EventKind.ACCESS_COPY_STORED.value}
)
# Where each copy was recorded: its first entry, or the latest repair that named a version.
STORED_BY = {"sealed": EventKind.SEALED.value, "access": EventKind.ACCESS_COPY_STORED.value}
# Only the last of these matters: the rendition in use, the retention end now, the destruction.
RETENTION_KINDS = frozenset({EventKind.RETENTION_SET.value, EventKind.RETENTION_EXTENDED.value})
LATEST_ONLY = RETENTION_KINDS | {EventKind.RENDITION_MADE.value, EventKind.DESTROYED.value}
# Every kind _keep_notable looks at: the only entries a scan of the log hands back whole.
NOTABLE_KINDS = (
    NOTABLE_FIRST
    | LATEST_ONLY
    | {EventKind.REPAIRED.value, EventKind.HOLD_PLACED.value, EventKind.HOLD_RELEASED.value}
)


def _keep_notable(notable: dict[uuid.UUID, list[EntryRow]], row: EntryRow) -> None:
    kept = notable.setdefault(row.item_id, [])
    if row.kind in NOTABLE_FIRST and not any(e.kind == row.kind for e in kept):
        kept.append(row)
    elif row.kind in LATEST_ONLY:
        kept[:] = [e for e in kept if e.kind != row.kind] + [row]
    elif row.kind == EventKind.REPAIRED.value and "locator" in row.data:
        copy = row.data.get("copy")  # only the latest repair of each copy says where it is
        kept[:] = [
            e for e in kept if e.kind != EventKind.REPAIRED.value or e.data.get("copy") != copy
        ] + [row]
    elif row.kind == EventKind.HOLD_PLACED.value:
        kept.append(row)  # kept while active: the store must carry its legal hold
    elif row.kind == EventKind.HOLD_RELEASED.value:
        released = row.data.get("hold")
        kept[:] = [
            e
            for e in kept
            if e.kind != EventKind.HOLD_PLACED.value or e.data.get("hold") != released
        ]


def _check_item_against_chain(item: EvidenceItem, entries: Sequence[EntryRow]) -> list[Finding]:
    ingested = [e for e in entries if e.kind == "ingested"]
    if not ingested:
        return []  # check_links already reports a chain without its first entry
    recorded = ingested[0].data
    findings = []
    if recorded.get("digest") != item.digest or recorded.get("size") != item.size:
        findings.append(
            Finding(
                item.id,
                ingested[0].seq,
                f"item row says digest {item.digest[:16]}… size {item.size}, but the ingested"
                f" entry recorded {str(recorded.get('digest'))[:16]}… size {recorded.get('size')}",
            )
        )
    return findings


def _check_destruction(
    sealed: ObjectStore, item: EvidenceItem, entries: Sequence[EntryRow]
) -> list[Finding]:
    """A tombstone needs its destroyed entry and the register that entry names; an item whose
    chain says destroyed must not pass for preserved."""
    destroyed = [e for e in entries if e.kind == EventKind.DESTROYED.value]
    if item.status != ItemStatus.DESTROYED:
        if destroyed:
            return [Finding(item.id, destroyed[0].seq, "chain records a destruction, row does not")]
        return []
    if not destroyed:
        return [
            Finding(item.id, None, "item row says destroyed but its chain has no destroyed entry")
        ]
    register = destroyed[-1].data.get("register")
    if not isinstance(register, str) or not sealed.exists(register):
        return [Finding(item.id, destroyed[-1].seq, f"destruction register {register} is missing")]
    return []


def _check_object(
    store: ObjectStore,
    item: EvidenceItem,
    chunk_size: int,
    *,
    what: str = "copy",
    digest: str | None = None,
    size: int | None = None,
    entries: Sequence[EntryRow] = (),
) -> tuple[list[Finding], int]:
    """Re-hash one object: the item's own bytes, or (``digest``/``size``) an object derived
    from it, such as its rendition."""
    want_digest, want_size = digest or item.digest, item.size if size is None else size
    label = f"{store.name} {what}"
    # The item's own copy is checked at the version the chain recorded (the row could have
    # been edited to point at a version someone placed over it).
    locator, moved = (None, []) if digest is not None else _chain_locator(store, item, entries)
    placed = [*moved, *_placed_over(store, item, want_digest, locator)]
    try:
        actual, found_size = rehash(store, want_digest, chunk_size=chunk_size, locator=locator)
    except NotFound:
        return [*placed, Finding(item.id, None, f"{label} is missing")], 0
    except StoreError as exc:
        return [*placed, Finding(item.id, None, f"{label} cannot be read: {exc}")], 0
    if actual != want_digest or found_size != want_size:
        return [
            *placed,
            Finding(
                item.id,
                None,
                f"{label} was altered: it hashes to {actual[:16]}… ({found_size} bytes),"
                f" recorded {want_digest[:16]}… ({want_size} bytes)",
            ),
        ], found_size
    return [
        Finding(f.item_id, f.seq, f"{f.message}; the recorded version is intact") for f in placed
    ], found_size


def _chain_locator(
    store: ObjectStore, item: EvidenceItem, entries: Sequence[EntryRow]
) -> tuple[str | None, list[Finding]]:
    row = _locator_in(store, item)
    repaired = [
        e for e in entries
        if e.kind == EventKind.REPAIRED.value and e.data.get("copy") == store.name
        and isinstance(e.data.get("locator"), str)
    ]  # fmt: skip
    stored = [e for e in entries if e.kind == STORED_BY.get(store.name)]
    source = repaired[-1:] or stored[:1]
    recorded = source[0].data.get("locator") if source else None
    if not isinstance(recorded, str):
        return row, []  # ingested before locators were recorded on the chain
    if recorded == row:
        return row, []
    return recorded, [
        Finding(item.id, source[0].seq,
                f"item row's {store.name} locator ({row}) is not the one the chain recorded"
                f" ({recorded}); the chain's was checked")
    ]  # fmt: skip


def _placed_over(
    store: ObjectStore, item: EvidenceItem, digest: str, locator: str | None
) -> list[Finding]:
    """What someone placed over the recorded version of an item's copy: the recorded
    version stays the evidence, but only the vault's keys (or the server) could do this."""
    if locator is None:
        return []
    try:
        placed = store.overlays(digest, locator=locator)
    except StoreError as exc:
        placed = [f"the versions over it could not be listed ({exc})"]
    return [Finding(item.id, None, f"{store.name} copy: {said}") for said in placed]


def _check_rendition(
    store: ObjectStore, item: EvidenceItem, entries: Sequence[EntryRow], chunk_size: int
) -> tuple[list[Finding], int]:
    """The rendition the chain last recorded (its digest and size) must still be stored."""
    made = [e for e in entries if e.kind == EventKind.RENDITION_MADE.value]
    if not made:
        return [], 0
    digest, size = made[-1].data.get("digest"), made[-1].data.get("size")
    if not isinstance(digest, str) or not isinstance(size, int):
        return [Finding(item.id, made[-1].seq, "rendition_made entry has no digest or size")], 0
    return _check_object(store, item, chunk_size, what="rendition", digest=digest, size=size)


def _locator_in(store: ObjectStore, item: EvidenceItem) -> str:
    return item.sealed_locator if store.name == "sealed" else item.access_locator


def _active_holds(entries: Sequence[EntryRow]) -> list[EntryRow]:
    """The hold_placed entries the chain has not released (the chain, not the hold table)."""
    released = {e.data.get("hold") for e in entries if e.kind == EventKind.HOLD_RELEASED.value}
    return [
        e
        for e in sorted(entries, key=lambda e: e.seq)
        if e.kind == EventKind.HOLD_PLACED.value and e.data.get("hold") not in released
    ]


def _check_sealed_lock(
    store: ObjectStore, item: EvidenceItem, entries: Sequence[EntryRow]
) -> list[Finding]:
    """The sealed copy must be locked at least until the retention end the chain recorded
    (the chain, not the item row, which an insider could edit)."""
    # The latest end the chain recorded: at sealing, then by retention_set/_extended entries.
    sealed = sorted(
        (e for e in entries if e.kind == EventKind.SEALED.value or e.kind in RETENTION_KINDS),
        key=lambda e: e.seq,
    )[-1:]
    recorded = sealed[0].data.get("retain_until") if sealed else None
    if not isinstance(recorded, str):
        return []  # ingested before retention was recorded
    try:
        lock = store.retention(item.digest, locator=_chain_locator(store, item, entries)[0])
    except (NotFound, StoreError):
        return []  # reported by the object check
    held = _active_holds(entries)
    if held and (lock is None or not lock.hold):
        return [
            Finding(
                item.id, held[-1].seq,
                f"{store.name} copy of an item under legal hold ({held[-1].data.get('reference')})"
                " carries no legal hold in the store: someone switched it off",
            )
        ]  # fmt: skip
    if recorded == "permanent":
        if lock is None or not lock.needs_hold:
            return [Finding(item.id, sealed[0].seq, "sealed copy of a permanent item has no hold")]
        return []
    wanted = datetime.fromisoformat(recorded)
    row = item.retain_until
    findings = []
    if row is None or row.astimezone(UTC) != wanted:
        findings.append(
            Finding(item.id, sealed[0].seq, f"item row retention {row} differs from the chain's")
        )
    if lock is None or (not lock.needs_hold and (lock.until is None or lock.until < wanted)):
        ends = "nothing" if lock is None else str(lock.until)
        findings.append(
            Finding(
                item.id,
                sealed[0].seq,
                f"sealed copy's retention lock ({ends}) ends before the recorded end {recorded}",
            )
        )
    return findings


def _check_access_hold(
    store: ObjectStore, item: EvidenceItem, entries: Sequence[EntryRow]
) -> list[Finding]:
    """An access store that enforces locks must also hold what the chain holds (one that
    enforces none, the default, has nothing to check)."""
    held = _active_holds(entries)
    if not held:
        return []
    try:
        lock = store.retention(item.digest, locator=_chain_locator(store, item, entries)[0])
    except (NotFound, StoreError):
        return []  # reported by the object check
    if lock is None or lock.hold:
        return []
    return [
        Finding(item.id, held[-1].seq,
                f"{store.name} copy of an item under legal hold carries no legal hold in the store")
    ]  # fmt: skip


def audit(
    session: Session,
    stores: Stores,
    *,
    item_ids: Sequence[uuid.UUID] | None = None,
    rehash_objects: bool = True,
    sample: int | None = None,
    witness: WitnessFile | None = None,
    tsa_roots: list[x509.Certificate] | None = None,
    chunk_size: int = 1024 * 1024,
    progress: ProgressHook | None = None,
    recompute: bool = False,
    processes: int | None = None,
) -> AuditReport:
    """Everything invariant 4 promises, from raw rows and bytes. ``sample`` re-hashes the
    objects of that many randomly chosen items instead of all; ``witness`` is a checkpoint
    kept outside the vault that the log must still extend. The log is checked from each
    entry's stored bytes (custody.log.log_scan, over ``processes``); ``recompute``
    re-canonicalises every entry from its columns instead, the slow reference that also
    proves every stored form canonical."""
    # The whole log is always checked: a chain can only be trusted in the context of the
    # global seq and the log head, even when one item is asked about. Everything below is read
    # in the snapshot this first statement takes; the scan's workers start before the heads
    # and items are read, and read no further than this snapshot's last entry.
    log_head = session.get(LogHead, LOG_HEAD_ID)
    log_size = log_head.last_seq if log_head else 0
    kept = kept_checkpoints(stores.sealed)
    sizes = sizes_to_recompute(session, witness, kept) | {log_size}
    with _start_log_check(session, log_head, sizes, recompute, processes) as started:
        heads = {
            h.item_id: HeadRow(h.item_id, h.length, h.last_seq, bytes(h.head_hash))
            for h in session.execute(select(ChainHead)).scalars()
        }
        query = select(EvidenceItem).order_by(EvidenceItem.ingested_at)
        if item_ids is not None:
            query = query.where(EvidenceItem.id.in_(item_ids))
        items = list(session.execute(query).scalars())
        known = set(session.execute(select(EvidenceItem.id)).scalars())
        findings, tree, entries, by_item = _check_log(session, heads, log_head, sizes, started)
    if log_head is None:
        findings.append(Finding(None, None, "custody log head row is missing"))
    signed = check_checkpoints(
        session, tree, log_size, sealed=stores.sealed, witness=witness, tsa_roots=tsa_roots,
        kept=kept,
    )  # fmt: skip
    findings.extend(signed.findings)
    admin = check_admin_log(session)
    findings.extend(Finding(None, None, problem) for problem in admin.problems)
    findings.extend(_admin_against_checkpoints(session, kept, admin))

    if item_ids is not None:
        wanted = set(item_ids)
        findings = [f for f in findings if f.item_id in wanted or f.item_id is None]
    for item in items:
        if item.id not in by_item and item.id not in heads:
            findings.append(Finding(item.id, None, "item has no custody entries at all"))
    for orphan in sorted(set(by_item) - known, key=str):
        findings.append(Finding(orphan, None, "custody entries name an item that does not exist"))

    # A store opened despite a bucket that falls short (verification goes on without it).
    findings.extend(Finding(None, None, problem) for problem in stores.problems)
    rehashed = 0
    chosen = {i.id for i in items}
    if sample is not None and sample < len(items):
        chosen = {i.id for i in secrets.SystemRandom().sample(items, sample)}
    for item in items:
        findings.extend(_check_item_against_chain(item, by_item.get(item.id, [])))
        findings.extend(_check_destruction(stores.sealed, item, by_item.get(item.id, [])))
        if item.status == ItemStatus.PRESERVED:
            findings.extend(_check_sealed_lock(stores.sealed, item, by_item.get(item.id, [])))
            findings.extend(_check_access_hold(stores.access, item, by_item.get(item.id, [])))
        if rehash_objects and item.status == ItemStatus.PRESERVED and item.id in chosen:
            for store in (stores.sealed, stores.access):
                found, size = _check_object(
                    store, item, chunk_size, entries=by_item.get(item.id, [])
                )
                findings.extend(found)
                rehashed += size
            found, size = _check_rendition(
                stores.access, item, by_item.get(item.id, []), chunk_size
            )
            findings.extend(found)
            rehashed += size
        if progress is not None:
            progress(item, 2 * item.size)
    return AuditReport(
        len(items), entries, rehashed, findings, signed.count, signed.covered,
        len(admin.heads),
    )  # fmt: skip


def _start_log_check(
    session: Session,
    log_head: LogHead | None,
    sizes: set[int],
    recompute: bool,
    processes: int | None,
) -> contextlib.AbstractContextManager[StartedScan | None]:
    """The scan of the log from its stored bytes, started (None: ``recompute``, the reference
    audit, which reads the log in the caller's process when _check_log asks)."""
    if recompute:
        return contextlib.nullcontext()
    return StartedScan(
        session, log_last_seq=log_head.last_seq if log_head else -1, sizes=sizes,
        notable_kinds=NOTABLE_KINDS, processes=processes,
    )  # fmt: skip


def _check_log(
    session: Session,
    heads: dict[uuid.UUID, HeadRow],
    log_head: LogHead | None,
    sizes: set[int],
    started: StartedScan | None,
) -> tuple[list[Finding], RecomputedTree, int, dict[uuid.UUID, list[EntryRow]]]:
    """Every entry, chain and head, the tree at ``sizes``, and each item's notable entries:
    from the started scan, or (None) re-canonicalised by the reference audit."""
    log_last_seq = log_head.last_seq if log_head else -1
    log_last_hash = bytes(log_head.last_hash) if log_head else b""
    by_item: dict[uuid.UUID, list[EntryRow]] = {}
    if started is None:
        recomputer = TreeRecomputer(sizes)
        checker = LogChecker(on_leaf=recomputer.feed)
        for row in _stream_entries(session):
            checker.feed(row)
            _keep_notable(by_item, row)
        findings = checker.finish(heads, log_last_seq=log_last_seq, log_last_hash=log_last_hash)
        return findings, recomputer.tree, checker.entries, by_item
    scan = started.join(heads, log_last_seq=log_last_seq, log_last_hash=log_last_hash)
    by_item = {item: [] for item in scan.items}
    for row in scan.notable:
        _keep_notable(by_item, row)
    return scan.findings, scan.tree, scan.entries, by_item


def _admin_against_checkpoints(
    session: Session, kept: Sequence[KeptNote], admin: AdminCheck
) -> list[Finding]:
    """Each checkpoint (in the database, and kept in the sealed store) that commits to the
    administration log must find the head it signed in the log as stored now: a rewrite that
    re-hashed every entry passes the chain check, not this one."""
    committed: list[tuple[str, CheckpointBody]] = []
    for checkpoint in all_checkpoints(session):
        with contextlib.suppress(VerificationError):  # a forged note is reported elsewhere
            committed.append(
                (f"checkpoint {checkpoint.id}", parse_checkpoint(split_note(checkpoint.note)[0]))
            )
    committed += [(note.label, note.body) for note in kept]
    findings = []
    for label, body in committed:
        if body.admin is None:
            continue
        entries, head = body.admin
        if entries > len(admin.heads) or admin.heads[entries - 1] != head:
            findings.append(
                Finding(None, None, f"{label} signed an administration log of {entries}"
                        " entries that is not the one stored now: it was rewritten")
            )  # fmt: skip
    return findings
