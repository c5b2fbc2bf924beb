"""Pointers at content addresses: how an S3 object uploaded once under a key named before its
bytes arrived is found again by its digest.

A pointer is a zero-byte object at ``<prefix>objects/<ab>/<sha256>`` whose user metadata names
the key that holds the bytes (always under ``<prefix>uploads/``), the version the vault wrote
there, and the size. A content address without that metadata holds the bytes itself (every
object stored before pointers, every object whose digest was known before upload, and every
repair of such an object).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# S3 user metadata (sent as x-amz-meta-*; boto3 hands it back with lower-case names).
TARGET_KEY = "evault-key"
TARGET_VERSION = "evault-version"
TARGET_SIZE = "evault-size"


@dataclass(frozen=True)
class Resolved:
    """Where a digest's bytes are: the key, its newest version's HEAD (None when there is no
    readable version), and the HEAD of the pointer that led there (None: no pointer)."""

    key: str
    head: dict[str, Any] | None
    pointer: dict[str, Any] | None = None


def pointer_metadata(key: str, version: str | None, size: int) -> dict[str, str]:
    return {TARGET_KEY: key, TARGET_VERSION: version or "", TARGET_SIZE: str(size)}


def pointer_target(head: dict[str, Any] | None, uploads_prefix: str) -> str | None:
    """The key a content address's HEAD points to, or None when it holds the bytes itself.

    Only keys under the uploads prefix are followed: a pointer forged to name another
    object's key (another digest's content address, say) is not a pointer, so no read,
    retention change or destruction by digest can be steered onto that object through it.
    """
    if head is None:
        return None
    target = head.get("Metadata", {}).get(TARGET_KEY)
    if not isinstance(target, str) or not target.startswith(uploads_prefix):
        return None
    name = target[len(uploads_prefix) :]
    return target if name and "/" not in name else None


def pointer_size(head: dict[str, Any]) -> int | None:
    """The size a pointer recorded for its bytes (None when it is not a pointer or says none)."""
    raw = head.get("Metadata", {}).get(TARGET_SIZE)
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def parse_locator(locator: str | None, bucket: str) -> tuple[str, str] | None:
    """(key, versionId) a locator of this bucket records, or None when it records no version
    (stored unversioned) or is not one of this bucket's."""
    if not locator:
        return None
    prefix = f"s3://{bucket}/"
    if not locator.startswith(prefix) or "?versionId=" not in locator:
        return None
    key, version = locator[len(prefix) :].split("?versionId=", 1)
    if not key or version in ("", "null"):
        return None
    return key, version
