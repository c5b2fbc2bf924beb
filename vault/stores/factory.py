"""Build the sealed and access stores from settings: filesystem, S3, or one of each."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from config.settings import LockMode, S3StoreConfig, Settings, StoreSpec
from vault.errors import ConfigurationError
from vault.stores.filesystem import FilesystemStore
from vault.stores.protocol import ObjectStore

# boto3 is imported only when a store is on S3: a vault on the filesystem (and every short CLI
# command) starts without it.

log = logging.getLogger(__name__)

# The sealed set must outlive a stolen admin key; the access set is the working copy.
ROLE_LOCK_MODES: dict[str, LockMode] = {"sealed": "COMPLIANCE", "access": "none"}


@dataclass(frozen=True)
class Stores:
    sealed: ObjectStore
    access: ObjectStore
    # Why the access bucket falls short, when it was opened only to verify (lenient_access):
    # verification reports it and checks the sealed set all the same.
    problems: tuple[str, ...] = ()


def shares_device(a: FilesystemStore, b: FilesystemStore) -> bool:
    return os.stat(a.root).st_dev == os.stat(b.root).st_dev


def build_store(
    spec: StoreSpec, *, role: str, chunk_size: int, group: str | None = None
) -> ObjectStore:
    """The store for one role, without contacting it (``doctor`` inspects it separately)."""
    if isinstance(spec, Path):
        return FilesystemStore(spec, name=role, chunk_size=chunk_size, group=group)
    from vault.stores.s3 import S3Store  # noqa: PLC0415 - see above

    mode = spec.lock_mode or ROLE_LOCK_MODES[role]
    return S3Store(spec, name=role, lock_mode=mode, chunk_size=chunk_size)


def open_stores(
    settings: Settings,
    *,
    check_buckets: bool = True,
    lenient_access: bool = False,
    advise: bool = True,
) -> Stores:
    """Build both stores; an S3 bucket that cannot keep its promise stops start-up here.

    With ``lenient_access`` (verification) a misconfigured access bucket is recorded in
    ``Stores.problems`` instead: one bucket setting must not stop every check of the sealed
    set. The sealed bucket is always required. ``advise`` logs the warnings about a setup that
    works but falls short (one device for both copies); a one-off CLI command leaves them to
    `evault doctor`, so that a successful read prints nothing on stderr."""
    chunk = settings.chunk_size
    group = settings.store_group
    sealed = build_store(settings.sealed_store_spec, role="sealed", chunk_size=chunk, group=group)
    access = build_store(settings.access_store_spec, role="access", chunk_size=chunk, group=group)
    found: list[str] = []
    for store in (sealed, access):
        if isinstance(store, FilesystemStore) or not check_buckets:
            continue
        from vault.stores.s3 import S3Store  # noqa: PLC0415 - boto3: only for S3
        from vault.stores.s3_bucket import inspect_bucket, problems, warnings  # noqa: PLC0415

        if isinstance(store, S3Store):
            state = inspect_bucket(store)
            shortfalls = problems(store, state)
            if shortfalls and (store is sealed or not lenient_access):
                raise ConfigurationError(shortfalls[0])
            found += shortfalls
            for warning in warnings(store, state) if advise else ():
                log.warning(warning)
    if (
        advise
        and isinstance(sealed, FilesystemStore)
        and isinstance(access, FilesystemStore)
        and shares_device(sealed, access)
    ):
        log.warning(
            "sealed and access stores share one storage device; the regulations want the"
            " backup set on a different device",
            extra={"sealed": sealed.location(), "access": access.location()},
        )
    return Stores(sealed=sealed, access=access, problems=tuple(found))


def is_s3(spec: StoreSpec) -> bool:
    return isinstance(spec, S3StoreConfig)
