"""S3 object store (AWS S3, MinIO, Ceph RGW, SeaweedFS) with Object Lock.

Objects are found by content address, ``<prefix>objects/<ab>/<sha256>``. When the digest is
known up front (a repair from the other copy, a derived copy whose digest was taken first), the
bytes go straight there and the upload is aborted if they hash differently. When it is not
(ingest: both copies stream from the station at once), the bytes are uploaded once, by multipart
upload while being hashed, under a key named before they arrive (``<prefix>uploads/<uuid>``);
then a zero-byte pointer is put at the content address whose metadata names that key, and both
are locked. Every operation by digest follows the pointer; an operation by recorded locator reads
the recorded key and version directly. Objects stored under their content address by earlier
versions keep working: a content address without a pointer holds the bytes itself.

Retention is always applied explicitly after the object lands and read back with HEAD: some
servers ignore Object Lock headers, and a lock that is not verified is not a lock.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
    read_chunks,
    rehash,
    validate_digest,
)
from vault.stores.s3_io import HashingReader, ObjectReader
from vault.stores.s3_pointer import (
    Resolved,
    parse_locator,
    pointer_metadata,
    pointer_size,
    pointer_target,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
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


def _placed(entry: dict[str, Any]) -> str:
    return "a delete marker" if "Size" not in entry else f"a newer version ({entry['Size']} bytes)"


def _when(entry: dict[str, Any]) -> str:
    return f"{entry['LastModified'].astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _shorter_lock(pointer: dict[str, Any], held: dict[str, Any]) -> str | None:
    """How a pointer's Object Lock falls short of the bytes' it names, in words (None: it
    does not). Both are set together; the pointer's can only be shorter if someone made it so
    or it was never set. Bytes under a legal hold need the pointer under one too, and no
    date: a permanent copy's far date is its own, written when it is (a repair's is later
    than its pointer's) and pushed out again by the vault, while the hold is what keeps both."""
    if held.get("ObjectLockLegalHoldStatus") == "ON":
        if pointer.get("ObjectLockLegalHoldStatus") == "ON":
            return None
        return "carries no legal hold, though the bytes do"
    until, wanted = pointer.get("ObjectLockRetainUntilDate"), held.get("ObjectLockRetainUntilDate")
    if wanted is not None and (until is None or until < wanted):
        return f"is locked until {until or 'nothing'}, the bytes until {wanted}"
    return None


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
        # Bounded read-ahead keeps memory flat: besides the parts in flight, one waits in
        # memory (two cost 37 MiB more peak RSS at 8 MiB parts and took no less time).
        self._transfer.max_in_memory_upload_chunks = 1

    # -- naming -------------------------------------------------------------------------------

    def location(self) -> str:
        return self.config.location()

    def content_key(self, digest: str) -> str:
        """The digest's content address: its bytes, or a pointer to them."""
        validate_digest(digest)
        return f"{self.config.prefix}objects/{digest[:2]}/{digest}"

    @property
    def uploads_prefix(self) -> str:
        return f"{self.config.prefix}uploads/"

    def key_for(self, digest: str) -> str:
        """The key whose newest version holds the digest's bytes (a pointer is followed)."""
        return self._resolve(digest).key

    def _resolve(self, digest: str) -> Resolved:
        content = self.content_key(digest)
        head = self._head(content)
        target = pointer_target(head, self.uploads_prefix)
        if target is None:
            return Resolved(content, head)
        return Resolved(target, self._head(target), pointer=head)

    def _recorded(self, digest: str, locator: str | None) -> tuple[str, str] | None:
        """(key, version) a locator records for this digest: its content address or an upload
        key (None: no version recorded, or not this store's; then the pointer is followed)."""
        recorded = parse_locator(locator, self.bucket)
        if recorded is None:
            return None
        key = recorded[0]
        if key != self.content_key(digest) and not key.startswith(self.uploads_prefix):
            return None
        return recorded

    def recorded_version(self, digest: str, locator: str | None) -> str | None:
        """The versionId a locator records (None: not one of ours, or stored unversioned)."""
        recorded = self._recorded(digest, locator)
        return recorded[1] if recorded else None

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
        found = self._resolve(digest)
        if found.head is not None:
            return self._accept_existing(digest, found, retention)
        key = self.content_key(digest)
        reader = HashingReader(chunks, expected=digest, label=f"{self.name} store")
        version = self._upload(reader, key, self._lock_args(retention))
        self._ensure_lock(key, version, retention)
        return StoredObject(digest, reader.size, self._locator(key, version), created=True)

    def restore(
        self, digest: str, chunks: Iterable[bytes], *, retention: Retention | None = None
    ) -> StoredObject:
        found = self._resolve(digest)
        if found.head is not None and rehash(self, digest, chunk_size=self.chunk_size)[0] == digest:
            raise Conflict(f"{self.name} object {digest} is intact: there is nothing to repair")
        # A new version at the key that held the bytes (the pointer's target, if any): reads
        # get the repaired bytes, and the damaged version stays behind its lock for whoever
        # investigates the damage.
        reader = HashingReader(chunks, expected=digest, label=f"{self.name} store")
        with self._translated("repair", found.key, lock=True):
            version = self._upload(reader, found.key, self._lock_args(retention))
        self._ensure_lock(found.key, version, retention)
        return StoredObject(digest, reader.size, self._locator(found.key, version), created=True)

    def _put_unknown(self, chunks: Iterable[bytes], retention: Retention | None) -> StoredObject:
        """One upload under a key named now; a pointer at the content address once hashed.

        A marker under ``incoming/`` lives while the upload is unnamed, so that the clean-up
        can find the upload of a writer that died (see remove_stale_temps)."""
        upload_id = str(uuid.uuid4())
        marker = f"{self.config.prefix}incoming/{upload_id}"
        key = f"{self.uploads_prefix}{upload_id}"
        with self._translated("mark the upload", marker):
            marked = self.client.put_object(Bucket=self.bucket, Key=marker, Body=b"")
        named = False
        try:
            reader = HashingReader(chunks, expected=None, label=f"{self.name} store")
            version = self._upload(reader, key, {})
            digest = reader.digest
            found = self._resolve(digest)
            if found.head is not None:
                return self._accept_existing(digest, found, retention)  # the upload goes
            self._put_pointer(digest, key, version, reader.size, retention)
            named = True
            self._ensure_lock(key, version, retention)
            return StoredObject(digest, reader.size, self._locator(key, version), created=True)
        finally:
            if not named:
                # A duplicate, or a failure before the pointer: nothing names these bytes and
                # nothing has locked them.
                self._remove_all_versions(key)
            self._remove_incoming(marker, marked.get("VersionId"))

    def _put_pointer(
        self, digest: str, key: str, version: str | None, size: int, retention: Retention | None
    ) -> None:
        content = self.content_key(digest)
        with self._translated("name", content):
            put = self.client.put_object(
                Bucket=self.bucket,
                Key=content,
                Body=b"",
                Metadata=pointer_metadata(key, version, size),
                **self._lock_args(retention),
            )
        # The pointer is locked like the bytes: removing it would hide them from every
        # operation by digest (the recorded locator still reads them).
        self._ensure_lock(content, put.get("VersionId"), retention)

    def _remove_all_versions(self, key: str) -> None:
        try:
            for version in self._versions(key):
                self._remove_version(key, version)
        except StoreError as exc:
            log.warning("upload left behind", extra={"key": key, "error": str(exc)})

    def _remove_incoming(self, key: str, version: str | None) -> None:
        try:
            self._remove_version(key, version)
        except StoreError as exc:
            # Not evidence (a marker, or an upload also held elsewhere); the daemon retries.
            log.warning("incoming upload left behind", extra={"key": key, "error": str(exc)})

    def _remove_version(self, key: str, version: str | None) -> None:
        with self._translated("remove the upload", key):
            if version:
                self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
            else:
                self.client.delete_object(Bucket=self.bucket, Key=key)

    def _accept_existing(
        self, digest: str, found: Resolved, retention: Retention | None
    ) -> StoredObject:
        # Same digest means same bytes, unless the stored copy was damaged: check, never replace.
        actual, size = rehash(self, digest, chunk_size=self.chunk_size)
        if actual != digest:
            raise IntegrityViolation(
                f"{self.name} store already holds {digest} but its content hashes to {actual}"
                f" ({size} bytes): the stored object is damaged"
            )
        assert found.head is not None
        version = cast("str | None", found.head.get("VersionId"))
        self._ensure_lock(found.key, version, retention)
        if found.pointer is not None:
            self._ensure_lock(self.content_key(digest), found.pointer.get("VersionId"), retention)
        return StoredObject(digest, size, self._locator(found.key, version), created=False)

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

    def _keys_holding(self, digest: str) -> list[tuple[str, list[str]]]:
        """Every key that holds the digest's bytes or points to them, each with its versions:
        the upload keys named by any version of the pointer (so a pointer put over the
        vault's own cannot take the bytes out of a retention change or a destruction), then
        the content address itself."""
        content = self.content_key(digest)
        pointer_versions = self._versions(content)
        targets: list[str] = []
        for version in pointer_versions:
            target = pointer_target(self._head_version(content, version), self.uploads_prefix)
            if target is not None and target not in targets:
                targets.append(target)
        return [(target, self._versions(target)) for target in targets] + [
            (content, pointer_versions)
        ]

    def set_retention(self, digest: str, *, until: datetime | None, hold: bool) -> None:
        held = self._keys_holding(digest)
        if not held[-1][1]:
            raise NotFound(f"{self.name} store has no object {digest}")
        if self.lock_mode == "none":
            return  # this bucket enforces nothing; the sealed set carries the guarantee
        permanent = until is None
        if until is not None:
            until = whole_seconds(until)
        else:
            for key, versions in held:
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
        status = "ON" if hold or permanent else "OFF"
        for key, versions in held:
            for version in versions:
                where = {"Bucket": self.bucket, "Key": key, "VersionId": version}
                if send_until and until is not None:
                    # Sent as asked, even when shorter: the server, not this process, is the
                    # one that refuses, so a compromised vault cannot shorten either.
                    with self._translated("change the retention of", digest, lock=True):
                        self.client.put_object_retention(
                            **where, Retention={"Mode": self.lock_mode, "RetainUntilDate": until}
                        )
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
        head = self._located(digest, locator)[2]
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

    def _located(self, digest: str, locator: str | None) -> tuple[str, str | None, dict[str, Any]]:
        """(key, version, HEAD) of what a read of the digest gets: the recorded version when
        the locator records one, else the newest version where the digest's pointer leads."""
        recorded = self._recorded(digest, locator)
        if recorded is not None:
            key, version = recorded
            head = self._head_version(key, version)
            if head is None:
                raise NotFound(
                    f"{self.name} store: the recorded version {version} of {digest} is gone"
                )
            return key, version, head
        found = self._resolve(digest)
        if found.head is None:
            raise NotFound(f"{self.name} store has no object {digest}")
        return found.key, cast("str | None", found.head.get("VersionId")), found.head

    def open(self, digest: str, *, locator: str | None = None) -> BinaryIO:
        return self._reader(*self._located(digest, locator))

    def _reader(self, key: str, version: str | None, head: dict[str, Any]) -> BinaryIO:
        def get(offset: int) -> Any:
            where: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Range": f"bytes={offset}-"}
            if version:
                where["VersionId"] = version
            with self._translated("read", key):
                return self.client.get_object(**where)["Body"]

        reader = ObjectReader(get, int(head["ContentLength"]))
        return cast(BinaryIO, io.BufferedReader(reader, buffer_size=self.chunk_size))

    def stat(self, digest: str) -> StoredObject:
        key, version, head = self._located(digest, None)
        locator = self._locator(key, version)
        return StoredObject(digest, int(head["ContentLength"]), locator, created=False)

    def exists(self, digest: str) -> bool:
        return self._resolve(digest).head is not None

    def media_source(self, digest: str, *, locator: str | None = None) -> str:
        key, version, _ = self._located(digest, locator)
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if version is not None and self._recorded(digest, locator) is not None:
            params["VersionId"] = version  # what ffmpeg reads is the recorded version too
        with self._translated("sign a read of", digest):
            url: str = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=3600
            )
        return url

    def overlays(self, digest: str, *, locator: str) -> list[str]:
        located = self._recorded(digest, locator)
        if located is None:
            return []
        key, recorded = located
        entries = self._listed_versions(key)
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
        placed = [(entry["LastModified"], f"{_placed(entry)} was placed over it at"
                   f" {_when(entry)}") for entry in [*newer, *markers]]  # fmt: skip
        if key.startswith(self.uploads_prefix):
            placed += self._pointer_overlays(digest, key, recorded)
        return [said for _, said in sorted(placed)]

    def _pointer_overlays(self, digest: str, key: str, recorded: str) -> list[tuple[datetime, str]]:
        """What was done to the pointer that names an upload: a version or delete marker
        placed over the vault's pointer (the vault never writes a second one), or a lock that
        lets the pointer go before the bytes. Either hides the bytes from every operation by
        digest (a duplicate's ingest, a repair, a retention change) while the recorded locator
        still reads them."""
        content = self.content_key(digest)
        entries = self._listed_versions(content)
        versions = [entry for entry, marker in entries if not marker]  # newest first
        ours: dict[str, Any] | None = None
        index = 0
        for index in reversed(range(len(versions))):  # the vault's is the oldest naming it
            ours = self._head_version(content, str(versions[index]["VersionId"]))
            if pointer_target(ours, self.uploads_prefix) == key:
                break
            ours = None
        if ours is None:
            return [(datetime.max.replace(tzinfo=UTC), "no pointer at its content address names"
                     " it, so nothing that looks it up by digest finds it")]  # fmt: skip
        ours_at = versions[index]["LastModified"]
        over = versions[:index] + [
            entry for entry, marker in entries if marker and entry["LastModified"] >= ours_at
        ]
        found = [
            (entry["LastModified"], f"{_placed(entry)} was placed over its pointer at the"
             f" content address at {_when(entry)}")
            for entry in over
        ]  # fmt: skip
        if self.lock_mode != "none":
            bytes_head = self._head_version(key, recorded)
            short = _shorter_lock(ours, bytes_head) if bytes_head is not None else None
            if short:
                found.append((ours_at, f"its pointer at the content address {short}"))
        return found

    def _listed_versions(self, key: str) -> list[tuple[dict[str, Any], bool]]:
        """Every version of exactly ``key`` and whether it is a delete marker, newest first
        (versions, then markers)."""
        with self._translated("list versions of", key):
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=key
            )
            entries: list[tuple[dict[str, Any], bool]] = []
            for page in pages:
                entries += [(e, False) for e in page.get("Versions", []) if e["Key"] == key]
                entries += [(e, True) for e in page.get("DeleteMarkers", []) if e["Key"] == key]
        return entries

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
        # A pointer lists as zero bytes (only the empty recording's own address can really
        # hold zero bytes); its HEAD says the size of what it points to.
        pointers = [digest for digest, size in found if size == 0 and digest != EMPTY_SHA256]
        with ThreadPoolExecutor(max_workers=self.config.max_concurrency) as pool:
            sizes = dict(zip(pointers, pool.map(self._pointed_size, pointers), strict=True))
        return sorted((digest, sizes.get(digest, size)) for digest, size in found)

    def _pointed_size(self, digest: str) -> int:
        head = self._head(self.content_key(digest))
        return (pointer_size(head) or 0) if head is not None else 0

    # -- removal ------------------------------------------------------------------------------

    def delete(self, digest: str, *, order: DestructionOrder) -> None:
        if order.digest != digest:
            raise IntegrityViolation(
                f"destruction order {order.register_entry} is for {order.digest}, not {digest}"
            )
        held = self._keys_holding(digest)
        if not held[-1][1]:
            raise NotFound(f"{self.name} store has no object {digest}")
        # Every version by id (a delete without one only hides the object behind a marker),
        # the bytes before the pointer: a retry after a failure still finds them.
        for key, versions in held:
            for version in versions:
                with self._translated("delete", digest, lock=True):
                    self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version)

    def remove_stale_temps(self, *, older_than: timedelta = STALE_INCOMING) -> int:
        """Remove what writers that died left under ``incoming/`` a day (``older_than``) ago or
        more: each marker, with its upload unless a pointer names that upload (the writer died
        after naming it). Uploads from before pointers were copied and may simply go."""
        prefix = f"{self.config.prefix}incoming/"
        cutoff = datetime.now(UTC) - older_than
        removed = 0
        with self._translated("list", prefix):
            for page in self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    if entry["LastModified"] < cutoff:
                        key = str(entry["Key"])
                        removed += self._remove_unnamed_upload(key.rsplit("/", 1)[-1])
                        self._remove_incoming(key, str(entry["VersionId"]))
                        removed += 1
        return removed

    def _remove_unnamed_upload(self, upload_id: str) -> int:
        key = f"{self.uploads_prefix}{upload_id}"
        head = self._head(key)
        if head is None:
            return 0  # never completed (or hidden behind a delete marker: left for a person)
        hasher = hashlib.sha256()
        with self._reader(key, cast("str | None", head.get("VersionId")), head) as stream:
            for chunk in read_chunks(stream, self.chunk_size):
                hasher.update(chunk)
        if any(held == key for held, _ in self._keys_holding(hasher.hexdigest())):
            return 0
        self._remove_all_versions(key)
        return 1
