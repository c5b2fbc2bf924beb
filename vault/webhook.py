"""Deliver alerts to the configured webhook: JSON over HTTP(S), signed with HMAC-SHA256 when a
secret is set. Network calls happen outside any transaction; each alert is marked sent only
after the receiver answered 2xx, so an alert is delivered at least once, never lost."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from config.settings import Settings
from vault.alert_models import Alert
from vault.alerts import undelivered
from vault.db import SessionFactory, unit_of_work, utcnow

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Evault-Signature"


@dataclass(frozen=True)
class Outgoing:
    id: uuid.UUID
    body: bytes


def alert_body(alert: Alert, *, organisation: str) -> bytes:
    document: dict[str, Any] = {
        "id": str(alert.id),
        "key": alert.key,
        "kind": alert.kind,
        "level": alert.level,
        "message": alert.message,
        "details": alert.details,
        "raised_at": alert.raised_at.isoformat().replace("+00:00", "Z"),
        "vault": organisation,
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False).encode()


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(settings: Settings, body: bytes) -> None:
    assert settings.alert_webhook_url is not None
    headers = {"Content-Type": "application/json", "User-Agent": "evidence-vault"}
    if settings.alert_webhook_secret is not None:
        secret = settings.alert_webhook_secret.get_secret_value()
        headers[SIGNATURE_HEADER] = signature(body, secret)
    # Settings accept only http:// and https:// addresses (S310: no file: or custom schemes).
    request = urllib.request.Request(  # noqa: S310
        settings.alert_webhook_url, data=body, headers=headers, method="POST"
    )
    timeout = settings.alert_webhook_timeout_seconds
    with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
        if not 200 <= reply.status < 300:
            raise urllib.error.HTTPError(
                settings.alert_webhook_url, reply.status, reply.reason, reply.headers, None
            )


def deliver_alerts(factory: SessionFactory, settings: Settings) -> int:
    """Send undelivered alerts in the order raised; stop at the first failure (the receiver
    is down: the rest wait for the next run). Returns how many were delivered."""
    if not settings.alert_webhook_url:
        return 0
    with unit_of_work(factory, read_only=True) as session:
        pending = [
            Outgoing(a.id, alert_body(a, organisation=settings.organisation))
            for a in undelivered(session)
        ]
    sent = 0
    for outgoing in pending:
        try:
            _post(settings, outgoing.body)
        except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            # The address may hold a token: the log names the failure, not the URL.
            reason = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            with unit_of_work(factory) as session:
                row = session.get(Alert, outgoing.id)
                if row is not None:
                    row.webhook_attempts += 1
                    row.webhook_error = reason
            log.warning("alert webhook did not accept an alert; will retry",
                        extra={"alert_id": str(outgoing.id), "reason": reason})  # fmt: skip
            break
        with unit_of_work(factory) as session:
            row = session.get(Alert, outgoing.id)
            if row is not None:
                row.webhook_attempts += 1
                row.webhook_sent_at = utcnow()
                row.webhook_error = None
        sent += 1
    return sent
