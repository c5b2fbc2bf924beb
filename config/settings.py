"""Typed settings.

Sources, highest priority first: keyword arguments, environment (``EVAULT_*``, nested with
``__``), the TOML file named by ``EVAULT_CONFIG`` (default ``./evault.toml`` when present),
then defaults. The defaults are the embedded deployment: SQLite and filesystem stores under
``./evault-data/``.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATA_DIR = Path("evault-data")
DEFAULT_CONFIG_FILE = Path("evault.toml")

# Camera exports commonly look like DEVICE_OFFICER_YYYYMMDDhhmmss.ext; stations that name
# files differently configure their own pattern.
DEFAULT_FILENAME_PATTERN = (
    r"^(?P<device>[A-Za-z0-9-]+)_(?P<officer>[A-Za-z0-9-]+)_(?P<start>\d{8}T?\d{6})"
)


class FilenameConvention(BaseModel):
    """How a station names its files: a regex with optional named groups.

    Groups used: ``device``, ``officer``, ``start`` (parsed with ``start_format``, in
    ``device_timezone`` because body cams write local wall-clock time).
    """

    pattern: str = DEFAULT_FILENAME_PATTERN
    start_formats: list[str] = Field(default_factory=lambda: ["%Y%m%dT%H%M%S", "%Y%m%d%H%M%S"])
    device_timezone: str = "Asia/Shanghai"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"file-name pattern is not a valid regex: {exc}") from exc
        return value


LockMode = Literal["COMPLIANCE", "GOVERNANCE", "none"]


class S3StoreConfig(BaseModel):
    """An S3-compatible bucket (AWS S3, MinIO, Ceph RGW, SeaweedFS) holding one of the two sets.

    Credentials left unset come from boto3's usual chain (environment, profile, instance role).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["s3"] = "s3"
    bucket: str = Field(min_length=3, max_length=63)
    # Keys become ``<prefix>objects/ab/<digest>``; a prefix lets one bucket serve a test vault.
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    # None means the role's default: COMPLIANCE for the sealed set, none for the access set.
    lock_mode: LockMode | None = None
    part_size_mib: int = Field(default=8, ge=5, le=512)
    max_concurrency: int = Field(default=2, ge=1, le=32)
    # What the vault keeps forever (permanent items, checkpoints, registers) carries a legal
    # hold and also a retention date this far ahead, renewed when half of it has passed: a
    # hold alone can be switched off by anyone holding the vault's keys, a date cannot.
    forever_years: int = Field(default=100, ge=10, le=1000)

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        if value and not value.endswith("/"):
            value += "/"
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("prefix must be a relative key prefix such as 'evault/'")
        return value

    def location(self) -> str:
        endpoint = self.endpoint_url or "aws"
        return f"s3://{self.bucket}/{self.prefix} at {endpoint}"


StoreSpec = Path | S3StoreConfig


class StationConfig(BaseModel):
    """A docking station: its export directory or mounted share (``local``), or its storage
    over FTP, FTPS or SFTP; one sub-directory per device either way."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["local", "ftp", "ftps", "sftp"] = "local"
    # local: the directory. Network kinds: the directory on the server (default: the login's
    # home).
    path: Path | None = None
    location: str = ""
    # What to do with a station file once both copies are verified and the item is committed.
    acknowledge: Literal["move", "delete", "none"] = "move"
    filename: FilenameConvention | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str | None = None
    # The password, or a file holding it (read at each connection; never logged).
    password: SecretStr | None = None
    password_file: Path | None = None
    # sftp: the server's public host key as in known_hosts ("ssh-ed25519 AAAA…"); the vault
    # never trusts an unknown key on first use.
    host_key: str | None = None
    # ftps: the CA certificate(s) (PEM) the server's certificate must chain to, for a station
    # with a certificate of the unit's own CA; unset, the system's trusted CAs. The server's
    # name (host) must match the certificate either way: never an unverified TLS session.
    tls_ca_file: Path | None = None
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    # Reconnections allowed while one file is transferred; each resumes where it stopped.
    transfer_retries: int = Field(default=5, ge=0, le=100)
    # Limits that keep ingest from saturating a station (its disk, its uplink, the cameras
    # docking at it): at most this many files copied from it at once (by all workers, all
    # processes), and at most this many bytes per second (shared by this process's transfers
    # from it). Unset: no limit.
    max_concurrent_transfers: int | None = Field(default=None, ge=1, le=64)
    max_bytes_per_second: int | None = Field(default=None, ge=64 * 1024)

    @model_validator(mode="after")
    def _complete(self) -> StationConfig:
        if self.kind == "local":
            if self.path is None:
                raise ValueError(f"station {self.name}: a local station needs its path")
            return self
        missing = [f for f in ("host", "username") if getattr(self, f) is None]
        if self.password is None and self.password_file is None:
            missing.append("password or password_file")
        if self.kind == "sftp" and self.host_key is None:
            missing.append("host_key (its public key, as `ssh-keyscan HOST` prints it)")
        if missing:
            raise ValueError(f"station {self.name} ({self.kind}) needs {', '.join(missing)}")
        return self

    def secret(self) -> str:
        """The station's password, from the settings or its secrets file."""
        if self.password is not None:
            return self.password.get_secret_value()
        assert self.password_file is not None
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(
                f"station {self.name}: cannot read its password file {self.password_file}:"
                f" {exc.strerror}"
            ) from None


class OidcConfig(BaseModel):
    """Signing in to the console through the agency's OpenID Connect provider (authorization
    code flow with PKCE, a confidential client). The provider's groups give the vault's roles:
    a person whose groups map to no role is refused."""

    model_config = ConfigDict(extra="forbid")

    # The provider's issuer URL, exactly as its id_tokens name it; its discovery document is at
    # <issuer>/.well-known/openid-configuration. HTTPS, except on this machine (a test provider).
    issuer: str = Field(min_length=1, max_length=500)
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr
    # The console's own address as the provider redirects to it (registered with the provider):
    # <console_url>/signin/oidc/callback.
    console_url: str = Field(default="http://127.0.0.1:8400", min_length=1, max_length=500)
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    # The claim that names the person (their vault user name) and the one listing their groups.
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    # Group -> the vault roles it gives, e.g. {"evidence-custodians" = ["custodian"]}. Roles
    # are given and taken away at each sign-in, so the provider's groups stay the source.
    group_roles: dict[str, list[str]] = Field(default_factory=dict)
    # The button's words on the sign-in page.
    label: str = Field(default="", max_length=100)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("issuer", "console_url")
    @classmethod
    def _https(cls, value: str) -> str:
        value = value.rstrip("/")
        local = re.match(r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$", value)
        if not value.startswith("https://") and local is None:
            raise ValueError(f"{value!r}: OpenID Connect needs https:// (http: this machine only)")
        return value

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("scopes must include openid")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="EVAULT_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    # A directory (filesystem store) or an S3 table such as
    # ``[sealed_store] kind = "s3"  bucket = "evidence-sealed"``.
    sealed_store: Path | S3StoreConfig | None = None
    access_store: Path | S3StoreConfig | None = None
    # Filesystem stores are owner-only (objects 0400, directories 0700). A group named here
    # (a backup operator's) may read them too: 0440 and 0750. Nobody else, ever.
    # Separation of duties: nobody holds admin and approver together (an admin who approves
    # needs nobody else to hand evidence out). True lifts the rule, for a one-person vault.
    admin_may_approve: bool = False
    # The largest request body the API reads (JSON bodies are small): a larger one is refused
    # with 413 before a byte of it is read, and so is any body without a valid token (401).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    store_group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")
    # Who keeps the evidence: named on signed reports and exports, and in the vault's CA.
    organisation: str = Field(default="evidence-vault", min_length=1, max_length=200)
    # The custody log's signing keys (Ed25519 private keys, mode 0600); keep them off the
    # evidence storage and back them up apart from it. Default: <data_dir>/keys.
    keys_dir: Path | None = None
    # The log's name in its signed checkpoints (a schema-less URL such as
    # "evidence.example-police.cn/custody"); fixed the first time a checkpoint is signed.
    # Default: "evidence-vault/" and a random id.
    # An external CA for people's signing keys (PEM): when set, `evault user keys` imports
    # certificates it issued (PKCS#12 or PEM) and the vault's own CA issues none.
    signing_ca: Path | None = None
    # A TrueType font with Chinese glyphs, embedded in bilingual documents (the destruction
    # register). Default: the first found of Debian's fonts-wqy-microhei, fonts-wqy-zenhei,
    # fonts-arphic-uming, fonts-droid-fallback.
    document_font: Path | None = None
    log_origin: str | None = Field(default=None, pattern=r"^[^\s+]{1,200}$")
    checkpoint_interval_minutes: float = Field(default=60.0, gt=0)
    # Every sealed copy, access copy and rendition is re-hashed once per cycle, a slice of them
    # on each run, so the reading is spread evenly over the cycle.
    fixity_cycle_days: float = Field(default=90.0, gt=0)
    fixity_run_minutes: float = Field(default=60.0, gt=0)
    # An RFC 3161 time-stamping authority for checkpoints (e.g. "http://timestamp.example/tsa"),
    # and the CA certificate(s) its tokens must chain to (PEM or DER files).
    tsa_url: str | None = None
    tsa_trust_roots: list[Path] = Field(default_factory=list)
    tsa_timeout_seconds: float = Field(default=30.0, gt=0)
    # Years a recording in no case is kept (the first retention policy's long-term period;
    # later changes go through `evault retention policy`, which never shortens).
    default_retention_years: int = Field(default=30, ge=1, le=200)

    stations: list[StationConfig] = Field(default_factory=list)
    filename: FilenameConvention = Field(default_factory=FilenameConvention)

    ingest_deadline_hours: float = Field(default=24.0, gt=0)
    # A file still on its station this long is a warning: there is time left to act. Unset,
    # it is 5/6 of the deadline (20 h of 24 h).
    ingest_warning_hours: float | None = Field(default=None, gt=0)
    # Alerts (deadline warnings and misses, infected recordings, station digest mismatches,
    # unreachable stations) are logged, shown on /health and, when this is set, POSTed here
    # as JSON; with a secret, each carries X-Evault-Signature: sha256=<HMAC of the body>.
    alert_webhook_url: str | None = None
    alert_webhook_secret: SecretStr | None = None
    alert_webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # A station not listed successfully for this long is an alert (/health, /metrics, log).
    station_unreachable_minutes: float = Field(default=30.0, gt=0)
    # Recording gaps: clips of one device no more than this apart are one incident, and a
    # pause inside an incident longer than the threshold must be explained.
    gap_incident_window_minutes: float = Field(default=30.0, gt=0)
    gap_threshold_seconds: float = Field(default=10.0, ge=0)
    # Virus check before a recording is archived (regulations). "clamscan" streams each new
    # recording to ClamAV's scanner (the clamav package), "clamd" to a running clamd over its
    # socket (INSTREAM). Infected recordings are still preserved, and flagged.
    virus_scanner: Literal["clamscan", "clamd", "off"] = "clamscan"
    clamscan_path: str = "clamscan"
    clamav_database: Path | None = None  # a signature file or directory; default ClamAV's
    clamd_socket: Path = Path("/var/run/clamav/clamd.ctl")
    # When the scanner cannot run: "hold" leaves files on the station until it can;
    # "ingest_unscanned" preserves them marked unscanned (and alerts). Never silently.
    scanner_unavailable: Literal["hold", "ingest_unscanned"] = "ingest_unscanned"
    scan_timeout_seconds: float = Field(default=3600.0, gt=0)
    scan_interval_seconds: float = Field(default=10.0, gt=0)
    # A file must keep the same size and mtime across two scans and be at least this old.
    settle_seconds: float = Field(default=5.0, ge=0)
    ingest_workers: int = Field(default=2, ge=1, le=64)
    # ffmpeg transcodes are CPU-heavy: a small pool of their own, apart from ingest.
    rendition_workers: int = Field(default=1, ge=1, le=16)
    sla_check_interval_seconds: float = Field(default=300.0, gt=0)
    chunk_size: int = Field(default=1024 * 1024, ge=4096, le=64 * 1024 * 1024)
    display_timezone: str = "Asia/Shanghai"
    # The web console's sessions: signed out after this long idle, and after this long in all.
    console_idle_minutes: float = Field(default=30.0, gt=0)
    console_session_hours: float = Field(default=12.0, gt=0)
    # Wrong passwords in a row before the account is locked, and for how long.
    console_lockout_after: int = Field(default=5, ge=1, le=100)
    console_lockout_minutes: float = Field(default=15.0, gt=0)
    # Secure cookies (the console is served over TLS, directly or behind a proxy).
    console_secure_cookies: bool = False
    # Optional single sign-on through an OpenID Connect provider ([oidc] in the settings).
    oidc: OidcConfig | None = None
    # Regulations: copies always need an approver; viewing too, unless this policy says not.
    views_need_approval: bool = True
    # The HTTP API; behind a load balancer, listen on 0.0.0.0 (every route needs a token).
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8400, ge=1, le=65535)
    # API worker processes. One process is bound by Python's GIL to about one core; set this to
    # the number of cores for a busy API (each process opens its own database pool).
    api_workers: int = Field(default=1, ge=1, le=64)
    # Database connections per process; also how many API requests use the database at once
    # (the rest wait without holding a thread). PostgreSQL's max_connections must cover
    # 2 x this per process: a delivery opens a second unit of work for its custody event.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # auto: human lines when stderr is a terminal, one JSON object per line otherwise (a
    # service manager, a pipe, a log shipper).
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _stores_differ(self) -> Settings:
        if same_location(self.sealed_store_spec, self.access_store_spec):
            raise ValueError(
                "sealed_store and access_store must be different locations: the sealed set and"
                " the consultation set are kept apart"
            )
        sealed = self.sealed_store_spec
        if isinstance(sealed, S3StoreConfig) and sealed.lock_mode not in (None, "COMPLIANCE"):
            raise ValueError(
                "sealed_store.lock_mode must be COMPLIANCE: in GOVERNANCE mode an administrator"
                " could delete sealed evidence before its retention ends"
            )
        access = self.access_store_spec
        if isinstance(access, S3StoreConfig) and access.lock_mode == "COMPLIANCE":
            raise ValueError(
                "access_store.lock_mode must be GOVERNANCE or none: the access set is the"
                " working copy; COMPLIANCE belongs to the sealed set"
            )
        names = [s.name for s in self.stations]
        if len(names) != len(set(names)):
            raise ValueError("station names must be unique")
        if self.ingest_warning_hours and self.ingest_warning_hours >= self.ingest_deadline_hours:
            raise ValueError(
                "ingest_warning_hours must be less than ingest_deadline_hours: the warning is"
                " the time left to act before the deadline"
            )
        if self.alert_webhook_url and not self.alert_webhook_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError("alert_webhook_url must be an http:// or https:// address")
        if self.tsa_url and not self.tsa_trust_roots:
            raise ValueError(
                "tsa_url needs tsa_trust_roots: the CA certificate(s) the TSA's tokens chain to,"
                " or no audit could check them"
            )
        return self

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'evault.db').as_posix()}"

    @property
    def sealed_store_spec(self) -> StoreSpec:
        return self.sealed_store or self.data_dir / "sealed"

    @property
    def access_store_spec(self) -> StoreSpec:
        return self.access_store or self.data_dir / "access"

    @property
    def keys_path(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def fixity_cycle(self) -> timedelta:
        return timedelta(days=self.fixity_cycle_days)

    @property
    def fixity_run_every(self) -> timedelta:
        return timedelta(minutes=self.fixity_run_minutes)

    @property
    def ingest_deadline(self) -> timedelta:
        return timedelta(hours=self.ingest_deadline_hours)

    @property
    def ingest_warning(self) -> timedelta:
        if self.ingest_warning_hours is None:
            return self.ingest_deadline * 5 / 6
        return timedelta(hours=self.ingest_warning_hours)

    def filename_for(self, station: StationConfig) -> FilenameConvention:
        return station.filename or self.filename

    def station(self, name: str) -> StationConfig:
        for station in self.stations:
            if station.name == name:
                return station
        raise KeyError(name)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = config_file_path()
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def same_location(a: StoreSpec, b: StoreSpec) -> bool:
    if isinstance(a, Path) and isinstance(b, Path):
        return a.resolve() == b.resolve()
    if isinstance(a, S3StoreConfig) and isinstance(b, S3StoreConfig):
        return (a.endpoint_url, a.bucket) == (b.endpoint_url, b.bucket) and (
            a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
        )
    return False


def config_file_path() -> Path | None:
    """The TOML file in force: ``EVAULT_CONFIG`` if set (it must exist), else ``./evault.toml``."""
    named = os.environ.get("EVAULT_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"EVAULT_CONFIG names {path}, which is not a file")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
