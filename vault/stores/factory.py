"""Build the sealed and access stores from settings."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from config.settings import Settings
from vault.stores.filesystem import FilesystemStore
from vault.stores.protocol import ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stores:
    sealed: ObjectStore
    access: ObjectStore


def shares_device(a: FilesystemStore, b: FilesystemStore) -> bool:
    return os.stat(a.root).st_dev == os.stat(b.root).st_dev


def open_stores(settings: Settings) -> Stores:
    chunk = settings.chunk_size
    sealed = FilesystemStore(settings.sealed_store_path, name="sealed", chunk_size=chunk)
    access = FilesystemStore(settings.access_store_path, name="access", chunk_size=chunk)
    if shares_device(sealed, access):
        log.warning(
            "sealed and access stores share one storage device; the regulations want the"
            " backup set on a different device",
            extra={"sealed": sealed.location(), "access": access.location()},
        )
    return Stores(sealed=sealed, access=access)
