"""Finding one of a few records (holds, open alerts) by its id or a unique prefix of it, as
people type them from a listing. Pure: the caller lists the ids it may match."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from vault.errors import Conflict, InputRejected, NotFound


def one_by_prefix(ids: Iterable[uuid.UUID], ref: str, *, what: str, missing: str = "") -> uuid.UUID:
    """The one id of ``ids`` that ``ref`` (a whole id, or 6+ hex digits of it) names.
    ``what`` names the kind ("legal hold"); ``missing`` replaces the not-found message."""
    wanted = ref.strip().lower().replace("-", "")
    if not re.fullmatch(r"[0-9a-f]{6,32}", wanted):
        raise InputRejected(f"{ref!r} is not a {what} id: give its id or at least 6 hex digits")
    found = [i for i in ids if i.hex.startswith(wanted)]
    if not found:
        raise NotFound(missing or f"no {what} {ref!r}")
    if len(found) > 1:
        raise Conflict(f"{len(found)} {what}s start {ref!r}; give more of the id")
    return found[0]
