"""What an S3 bucket is configured to enforce, and the start-up refusal when it falls short."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from vault.errors import ConfigurationError
from vault.stores.s3 import S3Store


@dataclass(frozen=True)
class BucketState:
    exists: bool
    versioning: str | None  # "Enabled", "Suspended" or None (never enabled)
    object_lock: bool
    default_retention: str | None  # e.g. "COMPLIANCE 30 days" when the bucket has a rule


def inspect_bucket(store: S3Store) -> BucketState:
    client, bucket = store.client, store.bucket
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchBucket", "NotFound"):
            return BucketState(False, None, False, None)
        raise _unreachable(store, exc) from None
    except BotoCoreError as exc:
        raise _unreachable(store, exc) from None
    try:
        versioning = client.get_bucket_versioning(Bucket=bucket).get("Status")
        try:
            lock = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        except ClientError as exc:
            if "ObjectLockConfigurationNotFound" not in str(exc.response["Error"].get("Code")):
                raise
            lock = {}
    except (ClientError, BotoCoreError) as exc:
        raise _unreachable(store, exc) from None
    rule = lock.get("Rule", {}).get("DefaultRetention")
    default = None
    if rule:
        span = f"{rule['Days']} days" if "Days" in rule else f"{rule.get('Years')} years"
        default = f"{rule.get('Mode')} {span}"
    return BucketState(True, versioning, lock.get("ObjectLockEnabled") == "Enabled", default)


def problems(store: S3Store, state: BucketState) -> list[str]:
    """Every way the bucket falls short of its role, each with the fix, in one line."""
    where = f"{store.name} store: bucket {store.bucket!r} at {store.config.endpoint_url or 'AWS'}"
    if not state.exists:
        return [f"{where} does not exist; create it (see README, Production)"]
    found = []
    if store.lock_mode != "none" and not state.object_lock:
        found.append(
            f"{where} has no Object Lock enabled; refusing to run: create the bucket with"
            f" Object Lock (aws s3api create-bucket --bucket {store.bucket}"
            " --object-lock-enabled-for-bucket)"
        )
    if state.versioning != "Enabled":
        found.append(
            f"{where} is not versioned; enable it (aws s3api put-bucket-versioning --bucket"
            f" {store.bucket} --versioning-configuration Status=Enabled)"
        )
    return found


def warnings(store: S3Store, state: BucketState) -> list[str]:
    if state.default_retention:
        return [
            f"{store.name} store: bucket {store.bucket!r} has a default retention rule"
            f" ({state.default_retention}); the vault sets retention per object, and the rule"
            " also locks its short-lived incoming uploads, which then cannot be cleaned up"
        ]
    return []


def require_ready(store: S3Store) -> BucketState:
    state = inspect_bucket(store)
    found = problems(store, state)
    if found:
        raise ConfigurationError(found[0])
    return state


def _unreachable(store: S3Store, exc: Exception) -> ConfigurationError:
    return ConfigurationError(
        f"{store.name} store: cannot inspect bucket {store.bucket!r} at"
        f" {store.config.endpoint_url or 'AWS'}: {exc}"
    )
