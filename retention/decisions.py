"""An appraisal decision: a plain enum, importable without the database layer."""

from __future__ import annotations

import enum


class Decision(enum.StrEnum):
    KEEP = "keep"
    DESTROY = "destroy"
