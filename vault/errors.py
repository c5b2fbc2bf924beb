"""One error hierarchy for the whole vault. Every error the vault raises on purpose is a
``VaultError``; ``api.error_table`` gives each class its HTTP problem and its CLI exit code.
Pure: imports nothing, so the pure modules may raise these."""

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


class Unavailable(VaultError):
    """Something the vault depends on could not be reached or used (a store, a station, the
    virus scanner); nothing was changed, and a later attempt may succeed."""


class StoreError(Unavailable):
    """A storage backend failed (disk full, permission, device gone)."""


class ObjectExists(Conflict):
    """A write-once store already holds an object under this digest."""


class InputRejected(VaultError):
    """The input cannot be used as it is (a zero-byte station file, a malformed month, a name
    with ``..``); nothing was changed and a station file is left in place."""


class NotAuthenticated(AccessDenied):
    """No valid credentials (missing, unknown, expired or revoked token): HTTP 401."""


class VerificationError(IntegrityViolation):
    """A proof, signature, chain hash or checkpoint does not verify; the message says which
    and why. Raised by the pure proof code (custody.log.canonical, merkle, signed_note)."""


class MediaUnreadable(InputRejected):
    """ffmpeg or PyAV cannot read or convert a recording. Its sealed copy is kept all the same
    (invariant 6): only what was to be made from it (a probe, a rendition) is missing."""


class DeliveryAborted(Unavailable):
    """A delivery stopped because the stored copy failed its re-hash on the way out. The
    custody chain says so, the fixity path has run, and asking again is the remedy."""


class RangeNotSatisfiable(InputRejected):
    """A Range header this server does not serve, or outside the object: HTTP 416."""
