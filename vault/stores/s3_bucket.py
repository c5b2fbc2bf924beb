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
    # Lifecycle rules that can expire or transition objects, each as "<id>: <what it does>".
    expiring_rules: tuple[str, ...] = ()


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
    object_lock = lock.get("ObjectLockEnabled") == "Enabled"
    return BucketState(True, versioning, object_lock, default, _expiring_rules(store))


# What a lifecycle rule may do to a vault bucket: only clean up abandoned multipart uploads.
HARMLESS_ACTIONS = frozenset({"ID", "Filter", "Prefix", "Status", "AbortIncompleteMultipartUpload"})


def _expiring_rules(store: S3Store) -> tuple[str, ...]:
    """Each enabled lifecycle rule that can expire, delete or transition the vault's objects:
    a lock keeps a locked version, but a rule still hides it behind a delete marker, removes
    what only a legal hold kept, and moves copies where nobody checks them."""
    try:
        rules = store.client.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in ("NoSuchLifecycleConfiguration", "NoSuchLifecycle", "404"):
            return ()
        raise _unreachable(store, exc) from None
    except BotoCoreError as exc:
        raise _unreachable(store, exc) from None
    found = []
    for rule in rules:
        if rule.get("Status") != "Enabled":
            continue
        actions = sorted(set(rule) - HARMLESS_ACTIONS)
        if actions:
            found.append(f"{rule.get('ID') or 'unnamed'}: {', '.join(actions)}")
    return tuple(found)


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
    if state.expiring_rules:
        found.append(
            f"{where} has lifecycle rules that expire or move objects"
            f" ({'; '.join(state.expiring_rules)}); remove them (aws s3api"
            f" delete-bucket-lifecycle --bucket {store.bucket}), keeping at most a rule that"
            " aborts incomplete multipart uploads"
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
