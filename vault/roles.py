"""Who may do what (roles) and what a case is flagged as: plain enums, importable without the
database layer (the CLI builds its options from them at start-up)."""

from __future__ import annotations

import enum


class CaseFlag(enum.StrEnum):
    MAJOR = "major"  # a major or serious case: kept longer
    LITIGATION = "litigation"  # under administrative reconsideration or litigation
    COMPLAINT = "complaint"  # a complaint or petition about the enforcement itself
    PERMANENT = "permanent"  # to be kept permanently
    HEARING = "hearing"  # a hearing (听证) was held


class Role(enum.StrEnum):
    CUSTODIAN = "custodian"  # runs the docking stations and the ingest
    INVESTIGATOR = "investigator"  # asks for access to recordings
    APPROVER = "approver"  # decides access requests (never their own)
    AUDITOR = "auditor"  # reads everything, changes nothing
    ADMIN = "admin"  # manages users and tokens
    APPRAISER = "appraiser"  # sits on the appraisal group (鉴定小组) that decides keep/destroy
    PRINCIPAL = "principal"  # the principal (主要负责人): approves destruction batches
    EXECUTOR = "executor"  # carries out an approved destruction (执行人)
    SUPERVISOR = "supervisor"  # witnesses and countersigns a destruction (监销人)
