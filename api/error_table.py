"""The one table that says what each vault error means to a caller: the HTTP problem (status
and problem type) that the JSON API answers, and the exit code that `evault` ends with.

Most specific first: the first class an error is an instance of decides. Every class in the
``VaultError`` tree resolves to a row above the base class's (tests/test_architecture.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from vault.errors import (
    AccessDenied,
    ConfigurationError,
    Conflict,
    InputRejected,
    IntegrityViolation,
    MediaUnreadable,
    NotAuthenticated,
    NotFound,
    ObjectExists,
    RangeNotSatisfiable,
    RetentionViolation,
    StoreError,
    Unavailable,
    VaultError,
    VerificationError,
)


class ExitCode:
    """What `evault` exits with (documented in `evault --help` and the README)."""

    DONE = 0
    FAILED_CHECK = 1  # a verification, fixity or deadline check found a failure
    USAGE = 2  # a malformed argument or input, or a configuration that cannot work
    REFUSED = 3  # a rule refused it: not allowed, pending, expired, exists, under hold
    NOT_FOUND = 4
    UNAVAILABLE = 5  # a store, database or station could not be reached or written


@dataclass(frozen=True)
class Outcome:
    error: type[VaultError]
    status: int  # HTTP
    problem: str  # the problem type's last path segment
    exit_code: int


TABLE: tuple[Outcome, ...] = (
    Outcome(NotAuthenticated, 401, "not-authenticated", ExitCode.REFUSED),
    Outcome(AccessDenied, 403, "access-denied", ExitCode.REFUSED),
    Outcome(NotFound, 404, "not-found", ExitCode.NOT_FOUND),
    Outcome(RetentionViolation, 409, "retention-violation", ExitCode.REFUSED),
    Outcome(ObjectExists, 409, "object-exists", ExitCode.REFUSED),
    Outcome(Conflict, 409, "conflict", ExitCode.REFUSED),
    Outcome(RangeNotSatisfiable, 416, "range-not-satisfiable", ExitCode.USAGE),
    Outcome(MediaUnreadable, 422, "media-unreadable", ExitCode.USAGE),
    Outcome(InputRejected, 422, "input-rejected", ExitCode.USAGE),
    Outcome(VerificationError, 500, "verification-failed", ExitCode.FAILED_CHECK),
    Outcome(IntegrityViolation, 500, "integrity-violation", ExitCode.FAILED_CHECK),
    Outcome(StoreError, 503, "store-unavailable", ExitCode.UNAVAILABLE),
    Outcome(Unavailable, 503, "unavailable", ExitCode.UNAVAILABLE),
    Outcome(ConfigurationError, 503, "misconfigured", ExitCode.USAGE),
    Outcome(VaultError, 500, "internal", ExitCode.FAILED_CHECK),
)


def outcome_of(exc: VaultError) -> Outcome:
    return outcome_for(type(exc))


def outcome_for(error: type[VaultError]) -> Outcome:
    return next(row for row in TABLE if issubclass(error, row.error))
