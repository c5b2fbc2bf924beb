"""What an access request is for, who it is for, and where it stands: plain enums, importable
without the database layer."""

from __future__ import annotations

import enum


class Purpose(enum.StrEnum):
    VIEW = "view"  # stream for viewing (查阅)
    COPY_ORIGINAL = "copy_original"  # a copy of the original access copy (复制原件)
    COPY_RENDITION = "copy_rendition"  # a watermarked copy of the rendition
    EXPORT = "export"  # a court submission package (evault export)


class RequesterKind(enum.StrEnum):
    INTERNAL = "internal"
    PUBLIC_SECURITY = "public_security"
    PROCURATORATE = "procuratorate"
    SUPERVISION_COMMISSION = "supervision_commission"
    LAWYER = "lawyer"
    PARTY = "party"


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
