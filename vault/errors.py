"""One error hierarchy for the whole vault; ``api`` maps each class to an HTTP status."""

from __future__ import annotations


class VaultError(Exception):
    """Base of every error the vault raises on purpose."""


class NotFound(VaultError):
    pass


class Conflict(VaultError):
    pass


class IntegrityViolation(VaultError):
    """Stored bytes or records do not match what was recorded."""


class AccessDenied(VaultError):
    pass


class RetentionViolation(VaultError):
    pass


class ConfigurationError(VaultError):
    pass


class StoreError(VaultError):
    """A storage backend failed (disk full, permission, device gone)."""


class ObjectExists(Conflict):
    """A write-once store already holds an object under this digest."""


class InputRejected(VaultError):
    """A station file cannot be ingested as it is (e.g. zero bytes); it is left in place."""


class NotAuthenticated(AccessDenied):
    """No valid credentials (missing, unknown, expired or revoked token): HTTP 401."""
