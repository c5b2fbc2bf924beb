"""The console's routers, in one place: the app includes them and the error handlers know
which routes answer with pages instead of problem+json."""

from __future__ import annotations

from api.web import (
    access_pages,
    admin_pages,
    alert_pages,
    audit_pages,
    case_pages,
    hold_pages,
    oidc_pages,
    pages,
    proof_pages,
    report_pages,
    retention_pages,
)

ROUTERS = (
    pages.router,
    alert_pages.router,
    oidc_pages.router,
    access_pages.router,
    case_pages.router,
    audit_pages.router,
    proof_pages.router,
    admin_pages.router,
    retention_pages.router,
    hold_pages.router,
    report_pages.router,
)
