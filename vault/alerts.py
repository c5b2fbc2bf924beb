"""Raise and list alerts. Raising logs the alert once and leaves it for the webhook
dispatcher (vault.webhook); it only flushes, so the alert commits with its cause."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vault.alert_models import Alert, AlertLevel
from vault.db import utcnow
from vault.errors import Conflict, InputRejected, NotFound
from vault.id_prefix import one_by_prefix

log = logging.getLogger("evault.alerts")
# A detail named like a LogRecord attribute would make logging raise; such details still
# reach the row and the webhook.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def raise_alert(
    session: Session,
    *,
    key: str,
    kind: str,
    level: AlertLevel,
    message: str,
    details: dict[str, Any],
    at: datetime | None = None,
) -> Alert | None:
    """Record the alert unless one with this key exists; returns the new alert or None."""
    existing = session.execute(select(Alert.id).where(Alert.key == key)).scalar_one_or_none()
    if existing is not None:
        return None
    alert = Alert(key=key, kind=kind, level=level.value, message=message, details=details,
                  raised_at=at or utcnow())  # fmt: skip
    try:
        # Two daemons may raise the same alert at once: the unique key keeps one, and the
        # other's work (its savepoint aside) carries on.
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None
    log.log(
        logging.ERROR if level == AlertLevel.ERROR else logging.WARNING,
        message,
        extra={"alert": kind, **{k: v for k, v in details.items() if k not in _RECORD_FIELDS}},
    )
    return alert


def recent_alerts(session: Session, *, limit: int = 100, open_only: bool = False) -> list[Alert]:
    query = select(Alert).order_by(Alert.raised_at.desc(), Alert.key).limit(limit)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    return list(session.execute(query).scalars())


def find_alert(session: Session, ref: str) -> Alert:
    """An alert by its id, or by a unique prefix (6 hex digits or more) among the open ones:
    those are what people acknowledge, and few enough to match here on every database."""
    wanted = ref.strip().lower()
    try:
        alert = session.get(Alert, uuid.UUID(wanted))
    except ValueError:
        alert = None
    else:
        if alert is None:
            raise NotFound(f"no alert {ref!r}")
        return alert
    open_ids = session.execute(select(Alert.id).where(Alert.acknowledged_at.is_(None))).scalars()
    missing = f"no open alert {ref!r} (an acknowledged one is found by its full id)"
    try:
        chosen = one_by_prefix(open_ids, ref, what="open alert", missing=missing)
    except InputRejected as exc:  # a reference that can name no alert names none (as items)
        raise NotFound(str(exc)) from None
    alert = session.get(Alert, chosen)
    assert alert is not None
    return alert


def acknowledge(session: Session, alert: Alert, *, by: str, reason: str) -> Alert:
    """Mark the alert seen to. Flushes; the caller records the act (custody.admin.acts)."""
    reason = reason.strip()
    if not reason:
        raise InputRejected("say what was done about the alert (--reason)")
    if len(reason) > 2000:
        raise InputRejected("the reason is longer than 2000 characters")
    if alert.acknowledged_at is not None:
        raise Conflict(
            f"alert {alert.id} was acknowledged by {alert.acknowledged_by} on"
            f" {alert.acknowledged_at:%Y-%m-%d %H:%M} UTC"
        )
    alert.acknowledged_at, alert.acknowledged_by, alert.acknowledgement = utcnow(), by, reason
    session.flush()
    return alert


def undelivered(session: Session, *, limit: int = 50) -> list[Alert]:
    query = (
        select(Alert)
        .where(Alert.webhook_sent_at.is_(None))
        .order_by(Alert.raised_at, Alert.key)
        .limit(limit)
    )
    return list(session.execute(query).scalars())
