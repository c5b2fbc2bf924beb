"""S3 object store (AWS S3, MinIO, Ceph RGW, SeaweedFS) with Object Lock.

Keys are content addresses: ``<prefix>objects/<ab>/<sha256>``. When the digest is not known
up front (ingest: both copies stream from the station at once), the bytes stream into
``<prefix>incoming/<uuid>`` by multipart upload while being hashed, are copied server-side to
their content address, and the incoming version is removed. When it is known (a repair from the
other copy, a derived copy whose digest was taken first), they go straight to the content
address and the upload is aborted if they hash differently.

Retention is always applied explicitly after the object lands and read back with HEAD: some
servers ignore Object Lock headers on a copy, and a lock that is not verified is not a lock.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from config.settings import LockMode, S3StoreConfig
from vault.errors import (
    ConfigurationError,
    Conflict,
    IntegrityViolation,
    NotFound,
    RetentionViolation,
    StoreError,
)
from vault.stores.protocol import (
    DestructionOrder,
    Retention,
    StoredObject,
    rehash,
    validate_digest,
)
from vault.stores.s3_io import HashingReader, ObjectReader

log = logging.getLogger(__name__)

MIB = 1024 * 1024
STALE_INCOMING = timedelta(hours=24)
NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})
DELETE_MARKER_CODES = frozenset({"405", "MethodNotAllowed"})  # a HEAD or GET of a delete marker
# Codes with which a server refuses an Object Lock violation (AWS and SeaweedFS say
# AccessDenied; some servers say InvalidRequest for a retention they will not accept).
LOCK_REFUSAL_CODES = frozenset({"AccessDenied", "InvalidRequest", "InvalidArgument"})


def whole_seconds(when: datetime) -> datetime:
    """S3 keeps retain-until dates to the second: round up, so a lock never ends early."""
    if when.microsecond:
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    return when


_session_lock = threading.Lock()
_session: Any = None


def _shared_session() -> Any:
    """One boto3 session for every store: each session loads the S3 service model (tens of
    MiB), and the sealed and access stores need it only once."""
    global _session  # noqa: PLW0603 - a process-wide cache, created on first use
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


def make_client(config: S3StoreConfig) -> Any:
    secret = config.secret_access_key.get_secret_value() if config.secret_access_key else None
    session = _shared_session()
    with _session_lock:  # creating clients from one session is not thread-safe
        return session.client(
            "s3",
            region_name=config.region,
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=secret,
            endpoint_url=config.endpoint_url,
            config=BotoConfig(
                s3={"addressing_style": config.addressing_style},
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=10,
                read_timeout=120,
            ),
        )


class S3Store:
    def __init__(
        self, config: S3StoreConfig, *, name: str, lock_mode: LockMode, chunk_size: int = MIB
    ) -> None:
        self.name = name
        self.config = config
        self.bucket = config.bucket
        self.lock_mode = lock_mode
        self.chunk_size = chunk_size
        self.client = make_client(config)
        part = config.part_size_mib * MIB
        self._transfer = TransferConfig(
            multipart_threshold=part,
            multipart_chunksize=part,
            max_concurrency=config.max_concurrency,
            use_threads=True,
        )
        # Bounded read-ahead keeps memory flat: at most this many parts wait in memory.
        self._transfer.max_in_memory_upload_chunks = config.max_concurrency

    # -- naming -------------------------------------------------------------------------------

    def location(self) -> str:
        return self.config.location()

    def key_for(self, digest: str) -> str:
        validate_digest(digest)
        return f"{self.config.prefix}objects/{digest[:2]}/{digest}"

    def _locator(self, key: str, version: str | None) -> str:
        suffix = f"?versionId={version}" if version else ""
        return f"s3://{self.bucket}/{key}{suffix}"

    # -- errors -------------------------------------------------------------------------------

    @contextmanager
    def _translated(self, action: str, subject: str, *, lock: bool = False) -> Iterator[None]:
        """Vendor errors become the vault's: nothing from botocore crosses this line."""
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "?"))
            message = str(error.get("Message", ""))
            if code in NOT_FOUND_CODES:
                raise NotFound(f"{self.name} store has no object {subject}") from None
            if code == "NoSuchBucket":
                raise ConfigurationError(
                    f"{self.name} store: bucket {self.bucket!r} does not exist at"
                    f" {self.config.endpoint_url or 'AWS'}"
                ) from None
            if lock and code in LOCK_REFUSAL_CODES:
                raise RetentionViolation(
                    f"{self.name} store: the server refused to {action} {subject}"
                    f" ({code}: {message}); it is protected by Object Lock"
                ) from None
            raise StoreError(
                f"{self.name} store: {action} {subject} failed: {code}: {message}"
            ) from None
        except BotoCoreError as exc:
            raise StoreError(
                f"{self.name} store at {self.location()} is unreachable or failed while trying"
                f" to {action} {subject}: {exc}"
            ) from None

    # -- writing ------------------------------------------------------------------------------

    def put(
        self,
        chunks: Iterable[bytes],
        *,
        retention: Retention | None = None,
        expected_digest: str | None = None,
    ) -> StoredObject:
        if expected_digest is not None:
            return self._put_known(chunks, expected_digest, retention)
        return self._put_unknown(chunks, retention)

    def _upload(self, reader: HashingReader, key: str, extra: dict[str, Any]) -> str | None:
        stream = io.BufferedReader(reader, buffer_size=self.chunk_size)
        with self._translated("upload", key):
            self.client.upload_fileobj(
                stream, self.bucket, key, ExtraArgs=extra, Config=self._transfer
            )
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        if int(head["ContentLength"]) != reader.size:
            raise IntegrityViolation(
                f"{self.name} store: {key} landed with {head['ContentLength']} bytes, sent"
                f" {reader.size}"
            )
        return cast("str | None", head.get("VersionId"))

    def _put_known(
        self, chunks: Iterable[bytes], digest: str, retention: Retention | None
    ) -> StoredObject:
        key = self.key_for(digest)
        existing = self._head(key)
        if existing is not None:
            return self._accept_existing(digest, key, existing, retention)
        reader = HashingReader(chunks, expected=digest, label=f"{self.name} store")
        version = self._upload(reader, key, self._lock_args(retention))
        self._ensure_lock(key, version, retention)
        return StoredObject(digest, reader.size, self._locator(key, version), created=True)

    def restore(
        self, digest: str, chunks: Iterable[bytes], *, retention: Retention | None = None
    ) -> StoredObject:
        key = self.key_for(digest)
        if (
            self._head(key) is not None
            and rehash(self, digest, chunk_size=self.chunk_size)[0] == digest
        ):
            raise Conflict(f"{self.name} object {digest} is intact: there is nothing to repair")
        # A new version at the same key: reads get the repaired bytes, and the damaged
        # version stays behind its lock for whoever investigates the damage.
        reader = HashingReader(chunks, expected=digest, label=f"{self.name} store")
        with self._translated("repair", key, lock=True):
            version = self._upload(reader, key, self._lock_args(retention))
        self._ensure_lock(key, version, retention)
        return StoredObject(digest, reader.size, self._locator(key, version), created=True)

    def _put_unknown(self, chunks: Iterable[bytes], retention: Retention | None) -> StoredObject:
        incoming = f"{self.config.prefix}incoming/{uuid.uuid4()}"
        reader = HashingReader(chunks, expected=None, label=f"{self.name} store")
        incoming_version = self._upload(reader, incoming, {})
        try:
            digest = reader.digest
            key = self.key_for(digest)
            existing = self._head(key)
            if existing is not None:
                return self._accept_existing(digest, key, existing, retention)
            source: dict[str, str] = {"Bucket": self.bucket, "Key": incoming}
            if incoming_version:
                source["VersionId"] = incoming_version
            with self._translated("copy into place", key):
                self.client.copy(
                    source,
                    self.bucket,
                    key,
                    ExtraArgs=self._lock_args(retention),
                    Config=self._transfer,
                )
            head = self._head(key)
            if head is None or int(head["ContentLength"]) != reader.size:
                raise IntegrityViolation(f"{self.name} store: copy to {key} did not land whole")
            version = cast("str | None", head.get("VersionId"))
            self._ensure_lock(key, version, retention)
            return StoredObject(digest, reader.size, self._locator(key, version), created=True)
        finally:
            self._remove_incoming(incoming, incoming_version)

    def _remove_incoming(self, key: str, version: str | None) -> None:
        try:
            with self._translated("remove the upload", key):
                if version:
                    self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
                else:
                    self.client.delete_object(Bucket=self.bucket, Key=key)
        except StoreError as exc:
            # Not evidence (it is also at its content address); the daemon retries the clean-up.
            log.warning("incoming upload left behind", extra={"key": key, "error": str(exc)})

    def _accept_existing(
        self, digest: str, key: str, head: dict[str, Any], retention: Retention | None
    ) -> StoredObject:
        # Same key means same bytes, unless the stored copy was damaged: check, never replace.
        actual, size = rehash(self, digest, chunk_size=self.chunk_size)
        if actual != digest:
            raise IntegrityViolation(
                f"{self.name} store already holds {digest} but its content hashes to {actual}"
                f" ({size} bytes): the stored object is damaged"
            )
        version = cast("str | None", head.get("VersionId"))
        self._ensure_lock(key, version, retention)
        return StoredObject(digest, size, self._locator(key, version), created=False)

    # -- retention ----------------------------------------------------------------------------

    def _forever_date(self) -> datetime:
        return whole_seconds(datetime.now(UTC) + timedelta(days=365.25 * self.config.forever_years))

    def _renew_by(self) -> datetime:
        """A forever date nearer than this is pushed out again (half its span has passed)."""
        return datetime.now(UTC) + timedelta(days=365.25 * self.config.forever_years / 2)

    def _dated(self, retention: Retention, current: datetime | None) -> Retention:
        """The lock a version must carry: a permanent one gets its far date as well as its
        hold (kept when it is still far enough ahead, so a re-check rewrites nothing)."""
        if retention.until is not None:
            return Retention(until=whole_seconds(retention.until), hold=retention.hold)
        if current is not None and current >= self._renew_by():
            return Retention(until=current, hold=True)
        return Retention(until=self._forever_date(), hold=True)

    def _lock_args(self, retention: Retention | None) -> dict[str, Any]:
        if self.lock_mode == "none" or retention is None:
            return {}
        dated = self._dated(retention, None)
        args: dict[str, Any] = {
            "ObjectLockMode": self.lock_mode,
            "ObjectLockRetainUntilDate": dated.until,
        }
        if dated.needs_hold:
            args["ObjectLockLegalHoldStatus"] = "ON"
        return args

    def _ensure_lock(self, key: str, version: str | None, retention: Retention | None) -> None:
        """Make the version carry at least ``retention``, then read it back to prove it."""
        if self.lock_mode == "none" or retention is None:
            return
        where: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version:
            where["VersionId"] = version
        with self._translated("read the lock of", key):
            head = self.client.head_object(**where)
        until = head.get("ObjectLockRetainUntilDate")
        mode = head.get("ObjectLockMode")
        retention = self._dated(retention, until)
        if retention.until is not None and (until is None or until < retention.until):
            with self._translated("set retention on", key, lock=True):
                self.client.put_object_retention(
                    **where,
                    Retention={"Mode": mode or self.lock_mode, "RetainUntilDate": retention.until},
                )
        if retention.needs_hold and head.get("ObjectLockLegalHoldStatus") != "ON":
            with self._translated("place a legal hold on", key, lock=True):
                self.client.put_object_legal_hold(**where, LegalHold={"Status": "ON"})
        self._verify_lock(where, retention)

    def _verify_lock(self, where: dict[str, Any], retention: Retention) -> None:
        with self._translated("read the lock of", where["Key"]):
            head = self.client.head_object(**where)
        until = head.get("ObjectLockRetainUntilDate")
        if retention.until is not None and (until is None or until < retention.until):
            raise StoreError(
                f"{self.name} store: {where['Key']} has no retention until"
                f" {retention.until.isoformat()} after setting it (server reports {until})"
            )
        if retention.needs_hold and head.get("ObjectLockLegalHoldStatus") != "ON":
            raise StoreError(f"{self.name} store: the legal hold on {where['Key']} did not stick")

    def set_retention(self, digest: str, *, until: datetime | None, hold: bool) -> None:
        key = self.key_for(digest)
        versions = self._versions(key)
        if not versions:
            raise NotFound(f"{self.name} store has no object {digest}")
        if self.lock_mode == "none":
            return  # this bucket enforces nothing; the sealed set carries the guarantee
        permanent = until is None
        if until is not None:
            until = whole_seconds(until)
        else:
            self._keep_forever(key, versions)
        if until is not None and until <= datetime.now(UTC):
            # Servers reject a date in the past outright; it can only be a no-op (the lock
            # has run out) or a shortening, which is refused here with the same error.
            current = self.retention(digest)
            if current is not None and (current.until is None or current.until > until):
                raise RetentionViolation(
                    f"{self.name} store: {digest} is retained until"
                    f" {current.until or 'permanently'}; {until.isoformat()} would shorten it"
                )
            send_until = False
        else:
            send_until = until is not None
        for version in versions:
            where = {"Bucket": self.bucket, "Key": key, "VersionId": version}
            if send_until and until is not None:
                # Sent as asked, even when shorter: the server, not this process, is the one
                # that refuses, so a compromised vault cannot shorten either.
                with self._translated("change the retention of", digest, lock=True):
                    self.client.put_object_retention(
                        **where, Retention={"Mode": self.lock_mode, "RetainUntilDate": until}
                    )
            status = "ON" if hold or permanent else "OFF"
            with self._translated("set the legal hold of", digest, lock=True):
                self.client.put_object_legal_hold(**where, LegalHold={"Status": status})

    def _keep_forever(self, key: str, versions: list[str]) -> None:
        """Give every version of a permanent object its far retention date (a version that
        is a delete marker has no lock to set: the server says so and it is skipped)."""
        for version in versions:
            where = {"Bucket": self.bucket, "Key": key, "VersionId": version}
            head = self._head_version(key, version)
            if head is None:
                continue  # a delete marker
            dated = self._dated(Retention(until=None), head.get("ObjectLockRetainUntilDate"))
            if head.get("ObjectLockRetainUntilDate") != dated.until:
                with self._translated("set the retention of", key, lock=True):
                    self.client.put_object_retention(
                        **where, Retention={"Mode": self.lock_mode, "RetainUntilDate": dated.until}
                    )

    def _head_version(self, key: str, version: str) -> dict[str, Any] | None:
        """The version's HEAD, or None for a delete marker (a HEAD of one is 405) or a
        version that is gone."""
        try:
            with self._translated("look up", key):
                try:
                    return cast(
                        "dict[str, Any]",
                        self.client.head_object(Bucket=self.bucket, Key=key, VersionId=version),
                    )
                except ClientError as exc:
                    if str(exc.response.get("Error", {}).get("Code")) in DELETE_MARKER_CODES:
                        return None
                    raise
        except NotFound:
            return None

    def retention(self, digest: str, *, locator: str | None = None) -> Retention | None:
        if self.lock_mode == "none":
            return None
        key = self.key_for(digest)
        version = self.recorded_version(digest, locator)
        head = self._head(key) if version is None else self._head_version(key, version)
        if head is None:
            raise NotFound(f"{self.name} store has no object {digest}")
        until = head.get("ObjectLockRetainUntilDate")
        hold = head.get("ObjectLockLegalHoldStatus") == "ON"
        if until is None and not hold:
            return None
        return Retention(until=until.astimezone(UTC) if until else None, hold=hold)

    # -- reading ------------------------------------------------------------------------------

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            with self._translated("look up", key):
                return cast("dict[str, Any]", self.client.head_object(Bucket=self.bucket, Key=key))
        except NotFound:
            return None

    def recorded_version(self, digest: str, locator: str | None) -> str | None:
        """The versionId a locator of this bucket and key records (None: not one of ours,
        or stored unversioned; then the newest version is read)."""
        if not locator:
            return None
        prefix = f"s3://{self.bucket}/{self.key_for(digest)}?versionId="
        if not locator.startswith(prefix) or locator[len(prefix) :] in ("", "null"):
            return None
        return locator[len(prefix) :]

    def open(self, digest: str, *, locator: str | None = None) -> BinaryIO:
        key = self.key_for(digest)
        version = self.recorded_version(digest, locator)
        if version is not None:
            head = self._head_version(key, version)
            if head is None:
                raise NotFound(
                    f"{self.name} store: the recorded version {version} of {digest} is gone"
                )
        else:
            head = self._head(key)
            if head is None:
                raise NotFound(f"{self.name} store has no object {digest}")
            version = head.get("VersionId")

        def get(offset: int) -> Any:
            where: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Range": f"bytes={offset}-"}
            if version:
                where["VersionId"] = version
            with self._translated("read", digest):
                return self.client.get_object(**where)["Body"]

        reader = ObjectReader(get, int(head["ContentLength"]))
        return cast(BinaryIO, io.BufferedReader(reader, buffer_size=self.chunk_size))

    def stat(self, digest: str) -> StoredObject:
        key = self.key_for(digest)
        head = self._head(key)
        if head is None:
            raise NotFound(f"{self.name} store has no object {digest}")
        locator = self._locator(key, head.get("VersionId"))
        return StoredObject(digest, int(head["ContentLength"]), locator, created=False)

    def exists(self, digest: str) -> bool:
        return self._head(self.key_for(digest)) is not None

    def media_source(self, digest: str, *, locator: str | None = None) -> str:
        key = self.key_for(digest)
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        version = self.recorded_version(digest, locator)
        if version is not None:
            if self._head_version(key, version) is None:
                raise NotFound(
                    f"{self.name} store: the recorded version {version} of {digest} is gone"
                )
            params["VersionId"] = version  # what ffmpeg reads is the recorded version too
        elif self._head(key) is None:
            raise NotFound(f"{self.name} store has no object {digest}")
        with self._translated("sign a read of", digest):
            url: str = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=3600
            )
        return url

    def overlays(self, digest: str, *, locator: str) -> list[str]:
        recorded = self.recorded_version(digest, locator)
        if recorded is None:
            return []
        key = self.key_for(digest)
        placed: list[tuple[datetime, str]] = []
        with self._translated("list versions of", key):
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=key
            )
            entries: list[tuple[dict[str, Any], bool]] = []
            for page in pages:
                entries += [(e, False) for e in page.get("Versions", []) if e["Key"] == key]
                entries += [(e, True) for e in page.get("DeleteMarkers", []) if e["Key"] == key]
        # Versions are listed newest first: those before the recorded one were put after it.
        # Delete markers are listed apart, so only their time places them.
        versions = [entry for entry, marker in entries if not marker]
        ids = [entry["VersionId"] for entry in versions]
        newer = versions[: ids.index(recorded)] if recorded in ids else versions
        recorded_at = versions[ids.index(recorded)]["LastModified"] if recorded in ids else None
        markers = [
            entry
            for entry, marker in entries
            if marker and (recorded_at is None or entry["LastModified"] >= recorded_at)
        ]
        for entry in [*newer, *markers]:
            when = f"{entry['LastModified'].astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
            what = (
                "a delete marker"
                if "Size" not in entry
                else f"a newer version ({entry['Size']} bytes)"
            )
            placed.append((entry["LastModified"], f"{what} was placed over it at {when}"))
        return [said for _, said in sorted(placed)]

    def _versions(self, key: str) -> list[str]:
        """Every version and delete marker of exactly ``key``, oldest last."""
        found: list[str] = []
        with self._translated("list versions of", key):
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=key
            )
            for page in pages:
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    if entry["Key"] == key:
                        found.append(str(entry["VersionId"]))
        return found

    def iter_digests(self) -> list[str]:
        return [digest for digest, _ in self.list_objects()]

    def list_objects(self) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        prefix = f"{self.config.prefix}objects/"
        with self._translated("list", prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                found.extend(
                    (str(o["Key"]).rsplit("/", 1)[-1], int(o["Size"]))
                    for o in page.get("Contents", [])
                )
        return sorted(found)

    # -- removal ------------------------------------------------------------------------------

    def delete(self, digest: str, *, order: DestructionOrder) -> None:
        if order.digest != digest:
            raise IntegrityViolation(
                f"destruction order {order.register_entry} is for {order.digest}, not {digest}"
            )
        key = self.key_for(digest)
        versions = self._versions(key)
        if not versions:
            raise NotFound(f"{self.name} store has no object {digest}")
        # Every version by id: a delete without one only hides the object behind a marker.
        for version in versions:
            with self._translated("delete", digest, lock=True):
                self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version)

    def remove_stale_temps(self) -> int:
        prefix = f"{self.config.prefix}incoming/"
        cutoff = datetime.now(UTC) - STALE_INCOMING
        removed = 0
        with self._translated("list", prefix):
            for page in self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    if entry["LastModified"] < cutoff:
                        self._remove_incoming(str(entry["Key"]), str(entry["VersionId"]))
                        removed += 1
        return removed
