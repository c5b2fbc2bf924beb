"""`evault doctor`: check a configuration for real, and say how to fix what fails.

Every check touches the real thing (connects, writes, asks the bucket, runs ffmpeg) and never
leaves evidence-like residue: probes go to temp areas and are removed, except the Object Lock
probe, which is locked for a few seconds by design and removed later by the daemon's clean-up.
"""

from __future__ import annotations

import contextlib
import enum
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

import migrations
from api.doctor_modes import too_wide
from config.settings import Settings, StationConfig, same_location
from custody.log.models import CustodyEvent, LogHead
from ingest.runner import make_adapter_for
from ingest.stations.base import StationUnavailable
from ingest.virus import ScannerUnavailable, make_scanner
from vault.db import make_engine
from vault.documents.fonts import find_cjk_font
from vault.errors import ConfigurationError, VaultError
from vault.media import ffmpeg_binary
from vault.stores.factory import build_store, shares_device
from vault.stores.filesystem import FilesystemStore
from vault.stores.protocol import ObjectStore
from vault.stores.s3 import S3Store
from vault.stores.s3_bucket import inspect_bucket, problems, warnings

CLOCK_TOLERANCE = timedelta(seconds=5)
S3_CLOCK_TOLERANCE = timedelta(minutes=5)  # S3 rejects signatures beyond 15 minutes


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a check result, not a password
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


class CheckFailed(ConfigurationError):
    """One doctor check failed; ``fix`` says what the operator should do."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.fix = fix


def run_checks(settings: Settings) -> list[Check]:
    results: list[Check] = []

    def check(name: str, probe: Callable[[], str | tuple[Status, str, str]]) -> bool:
        try:
            outcome = probe()
        except CheckFailed as exc:
            results.append(Check(name, Status.FAIL, str(exc), exc.fix))
            return False
        except (VaultError, SQLAlchemyError, OSError, ClientError, BotoCoreError) as exc:
            results.append(Check(name, Status.FAIL, _one_line(exc), "see the detail"))
            return False
        if isinstance(outcome, tuple):
            results.append(Check(name, *outcome))
        else:
            results.append(Check(name, Status.PASS, outcome))
        return True

    with _engine(settings) as engine:
        # Each database check needs the one before it; a failure stops the chain.
        _ = (
            check("database reachable", lambda: _database_reachable(engine))
            and check("database migrated", lambda: _database_migrated(engine))
            and check("clock", lambda: _clock(engine))
        )
    stores: dict[str, ObjectStore] = {}
    for role, spec in (
        ("sealed", settings.sealed_store_spec),
        ("access", settings.access_store_spec),
    ):
        try:
            stores[role] = build_store(
                spec, role=role, chunk_size=settings.chunk_size, group=settings.store_group
            )
        except VaultError as exc:
            results.append(Check(f"{role} store", Status.FAIL, _one_line(exc), "see the detail"))
    if len(stores) < 2:
        check("ffmpeg", _ffmpeg)
        return results
    check("stores distinct", lambda: _distinct(settings, stores))
    check("file modes", lambda: _file_modes(settings, stores))
    for role, store in stores.items():
        check(f"{role} store writable", lambda s=store: _writable(s))  # type: ignore[misc]
        if isinstance(store, S3Store):
            check(f"{role} bucket", lambda s=store: _bucket(s))  # type: ignore[misc]
            check(f"{role} clock vs S3", lambda s=store: _s3_clock(s))  # type: ignore[misc]
    check("sealed retention lock", lambda: _sealed_lock(stores["sealed"]))
    check("ffmpeg", _ffmpeg)
    check("document font", lambda: _document_font(settings))
    check("virus scanner", lambda: _virus_scanner(settings))
    for station in settings.stations:
        check(f"station {station.name}", lambda st=station: _station(st))  # type: ignore[misc]
    return results


@contextlib.contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database, pool_size=settings.db_pool_size)
    try:
        yield engine
    finally:
        engine.dispose()


def _virus_scanner(settings: Settings) -> str | tuple[Status, str, str]:
    """Scan a few clean bytes: proves the scanner runs and has signatures."""
    scanner = make_scanner(settings)
    if settings.virus_scanner == "off":
        return (Status.WARN, "virus scanning is off: recordings are marked unscanned",
                "install ClamAV (apt-get install clamav) and set virus_scanner")  # fmt: skip
    try:
        outcome = scanner.scan([b"evidence-vault doctor: a clean test input\n"])
    except ScannerUnavailable as exc:
        held = settings.scanner_unavailable == "hold"
        effect = "files are held on the stations" if held else "recordings are ingested unscanned"
        fix = "install ClamAV and its signatures (apt-get install clamav; freshclam)"
        return (Status.FAIL if held else Status.WARN, f"{exc} ({effect})", fix)
    return f"{scanner.engine}: {outcome.detail}"


def _document_font(settings: Settings) -> str | tuple[Status, str, str]:
    """Destruction registers need a CJK font; without one, a destruction is refused."""
    try:
        return str(find_cjk_font(settings.document_font))
    except ConfigurationError as exc:
        return (Status.WARN, str(exc), "apt-get install fonts-wqy-microhei, or set document_font")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _database_reachable(engine: Engine) -> str:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise CheckFailed(
            f"cannot connect to {engine.url.render_as_string(hide_password=True)}:"
            f" {_one_line(exc.__cause__ or exc)}",
            "check database_url (EVAULT_DATABASE_URL) and that the server is running",
        ) from None
    return f"{engine.dialect.name} at {engine.url.render_as_string(hide_password=True)}"


def _database_migrated(engine: Engine) -> str:
    if not migrations.is_current(engine):
        raise CheckFailed("schema is missing or behind the code", "run `evault init`")
    with engine.connect() as connection:
        if connection.execute(select(LogHead.id)).first() is None:
            raise CheckFailed("custody log head row is missing", "run `evault init`")
    return "schema at the current revision; custody log head present"


def _clock(engine: Engine) -> str:
    now = datetime.now(UTC)
    with engine.connect() as connection:
        last = connection.execute(select(func.max(CustodyEvent.at))).scalar_one_or_none()
        server = None
        if engine.dialect.name == "postgresql":
            server = connection.execute(text("SELECT now()")).scalar_one()
    if last is not None and last.replace(tzinfo=last.tzinfo or UTC) > now + CLOCK_TOLERANCE:
        raise CheckFailed(
            f"this machine's clock ({now:%Y-%m-%d %H:%M:%S} UTC) is behind the newest custody"
            f" event ({last:%Y-%m-%d %H:%M:%S})",
            "set the clock right (enable NTP: timedatectl set-ntp true)",
        )
    if server is not None and abs(server - now) > CLOCK_TOLERANCE:
        raise CheckFailed(
            f"this machine and the database server differ by {abs(server - now)}",
            "run NTP on both machines (timedatectl set-ntp true)",
        )
    return f"{now:%Y-%m-%d %H:%M:%S} UTC" + (", matches the database server" if server else "")


def _distinct(settings: Settings, stores: dict[str, ObjectStore]) -> str | tuple[Status, str, str]:
    sealed, access = stores["sealed"], stores["access"]
    if same_location(settings.sealed_store_spec, settings.access_store_spec):
        raise CheckFailed("sealed and access are one location", "give them separate locations")
    if (
        isinstance(sealed, FilesystemStore)
        and isinstance(access, FilesystemStore)
        and shares_device(sealed, access)
    ):
        return (
            Status.WARN,
            "separate directories on one storage device",
            'put the access store on another disk (access_store = "/mnt/other/access")',
        )
    return f"{sealed.location()} | {access.location()}"


def _file_modes(settings: Settings, stores: dict[str, ObjectStore]) -> str:
    wide = too_wide(settings, stores)
    if wide:
        shown = "; ".join(wide[:5]) + (f"; and {len(wide) - 5} more" if len(wide) > 5 else "")
        raise CheckFailed(
            f"readable by other local accounts, outside custody: {shown}",
            "chmod -R go-rwx the data directory (or g-w,o-rwx with store_group set); the vault"
            " makes new files owner-only",
        )
    return "objects, database and keys are readable by the vault's account only"


def _writable(store: ObjectStore) -> str | tuple[Status, str, str]:
    name = f"doctor-{uuid.uuid4()}"
    if isinstance(store, FilesystemStore):
        path = store.root / "tmp" / f"{name}.probe"
        try:
            with open(path, "xb") as out:
                out.write(b"probe")
                os.fsync(out.fileno())
        except OSError as exc:
            raise CheckFailed(
                f"cannot write under {store.root}: {exc.strerror}",
                f"create {store.root} and give the vault's user write access to it",
            ) from None
        path.unlink()
        return f"wrote and removed a probe file under {store.root}"
    assert isinstance(store, S3Store)
    key = f"{store.config.prefix}incoming/{name}"
    try:
        put = store.client.put_object(Bucket=store.bucket, Key=key, Body=b"probe")
    except ClientError as exc:
        raise CheckFailed(
            f"cannot write to bucket {store.bucket}: {_s3_code(exc)}",
            "give the vault's S3 credentials s3:PutObject on the bucket",
        ) from None
    version = put.get("VersionId")
    where = {"Bucket": store.bucket, "Key": key}
    if version and version != "null":  # a suspended bucket answers "null" or nothing
        where["VersionId"] = version
    try:
        store.client.delete_object(**where)
    except ClientError as exc:
        state = inspect_bucket(store)
        if state.default_retention:
            raise CheckFailed(
                f"wrote a probe to {store.bucket}, but the bucket's default retention rule"
                f" ({state.default_retention}) locked it, so it cannot be removed; the same"
                " happens to every incoming upload",
                f"remove the default retention rule of {store.bucket}; the vault locks each"
                " object itself",
            ) from None
        raise CheckFailed(
            f"wrote a probe to {store.bucket} but could not remove it: {_s3_code(exc)}",
            "give the vault's S3 credentials s3:DeleteObject and s3:DeleteObjectVersion on"
            " the incoming/ prefix",
        ) from None
    if "VersionId" not in where:
        return (
            Status.WARN,
            f"wrote and removed a probe in {store.bucket}, but the bucket keeps no versions",
            f"enable versioning on {store.bucket}",
        )
    return f"wrote and removed a probe object in {store.bucket}"


def _s3_code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', '?')} ({error.get('Message', '')})"


def _bucket(store: S3Store) -> str | tuple[Status, str, str]:
    state = inspect_bucket(store)
    found = problems(store, state)
    if found:
        raise CheckFailed(found[0], "see the detail: the command to run is in it")
    warned = warnings(store, state)
    if warned:
        return Status.WARN, warned[0], "remove the bucket's default retention rule"
    lock = f"Object Lock, {store.lock_mode} per object" if state.object_lock else "no Object Lock"
    return f"versioned, {lock}"


def _s3_clock(store: S3Store) -> str:
    response = store.client.head_bucket(Bucket=store.bucket)
    server = parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])
    drift = abs(server - datetime.now(UTC))
    if drift > S3_CLOCK_TOLERANCE:
        raise CheckFailed(
            f"this machine and the S3 server differ by {drift}",
            "run NTP (timedatectl set-ntp true): S3 refuses requests signed 15 minutes off",
        )
    return f"within {drift.total_seconds():.0f}s of the S3 server"


def _sealed_lock(store: ObjectStore) -> str | tuple[Status, str, str]:
    """Prove the sealed bucket refuses a delete: lock a probe for seconds, try to delete it."""
    if isinstance(store, FilesystemStore):
        return (
            Status.WARN,
            "filesystem store: the vault enforces retention itself; a root user can still"
            " delete files",
            "for production, put the sealed set on S3 with Object Lock (README, Production)",
        )
    assert isinstance(store, S3Store)
    key = f"{store.config.prefix}incoming/doctor-lock-{uuid.uuid4()}"
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)
    try:
        put = store.client.put_object(
            Bucket=store.bucket,
            Key=key,
            Body=b"lock probe",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=until,
        )
    except ClientError as exc:
        if not inspect_bucket(store).object_lock:
            raise CheckFailed(
                f"bucket {store.bucket} has no Object Lock, so nothing in it can be locked",
                f"create the sealed bucket with Object Lock (aws s3api create-bucket --bucket"
                f" {store.bucket} --object-lock-enabled-for-bucket) and move the vault to it",
            ) from None
        raise CheckFailed(
            f"could not write a locked probe to {store.bucket}: {_s3_code(exc)}",
            "give the vault's S3 credentials s3:PutObjectRetention on the bucket",
        ) from None
    try:
        store.client.delete_object(Bucket=store.bucket, Key=key, VersionId=put["VersionId"])
    except ClientError:
        return "a COMPLIANCE-locked probe could not be deleted: Object Lock is enforced"
    raise CheckFailed(
        "the server deleted a COMPLIANCE-locked probe object: it does not enforce Object Lock",
        "use a server that enforces Object Lock (AWS S3, MinIO, Ceph RGW, SeaweedFS)",
    )


def _ffmpeg() -> str:
    binary = ffmpeg_binary()
    try:
        out = subprocess.run(
            [binary, "-hide_banner", "-version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CheckFailed(
            f"{binary} cannot run: {exc}", "pip install imageio-ffmpeg, or apt install ffmpeg"
        ) from None
    if out.returncode != 0:
        raise CheckFailed(f"{binary} -version failed", "apt install ffmpeg")
    return out.stdout.splitlines()[0] if out.stdout else binary


def _station(station: StationConfig) -> str:
    if station.kind != "local":
        try:
            listed = make_adapter_for(station).list_files()
        except StationUnavailable as exc:
            raise CheckFailed(
                str(exc), "check the station's host, credentials and network"
            ) from None
        return f"{station.kind} {station.host}: reachable, {len(listed)} file(s) listed"
    path = station.path
    assert path is not None
    if not os.path.isdir(path):
        raise CheckFailed(f"{path} is not a directory (not mounted?)", "mount the station share")
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise CheckFailed(f"{path} is not readable and writable", "fix its permissions")
    return str(path)
