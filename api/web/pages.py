"""The console's pages: sign-in, the custodian's dashboard, recordings and one recording with
its custody timeline, and the language switch. Reads use the same services as the JSON API."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.http.copy_reads import copies_out
from api.http.deps import EVIDENCE_READERS, SessionDep, app_context
from api.http.moments import moment
from api.web.guard import (
    SIGN_IN_COOKIE,
    Visitor,
    allowed,
    check_csrf,
    client_address,
    html,
    local_path,
    policy,
    redirect,
    visitor,
)
from api.web.i18n import LANGUAGES, chosen
from api.web.one_call import PageRouter
from api.web.render import page
from custody.access.virus_release import flagged_counts
from custody.admin.log import append_admin
from custody.fixity.checks import summary as fixity_summary
from custody.log.append import events_for
from custody.log.checkpoints import recent_checkpoints
from ingest.deadline import deadline_of
from ingest.gap_service import list_gaps
from ingest.sla import waiting_files
from retention.models import LegalHold
from vault.alerts import recent_alerts
from vault.db import utcnow
from vault.errors import InputRejected
from vault.items import ItemFilter, find_item, list_items
from vault.models import EvidenceItem, ItemStatus, Role, Station
from vault.signin import COOKIE, sign_in, sign_out

router = PageRouter(include_in_schema=False)
Person = Annotated[Visitor, Depends(visitor)]
PAGE_SIZE = 50
CHECKPOINT_CHOICES = 20
HOUR = timedelta(hours=1)
FAILURE_DELAY_S = 0.5  # per failure in a row, up to the lockout: guessing gets slower


def render_for(who: Visitor, template: str, **context: object) -> str:
    return page(template, language=who.language, zone=who.settings.display_timezone,
                me=who.user, csrf=who.web.csrf, **context)  # fmt: skip


def _sso(context: AppContext) -> str | None:
    """The single sign-on button's words ("" for the page's own), or None without [oidc]."""
    return context.settings.oidc.label if context.settings.oidc else None


@router.get("/signin")
def signin_form(
    request: Request, context: Annotated[AppContext, Depends(app_context)], next: str = "/"
) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    language = chosen(request.query_params.get("lang"))
    body = page("signin.html", language=language, zone=context.settings.display_timezone,
                csrf=token, next=local_path(next), error=None, sso=_sso(context))  # fmt: skip
    response = html(body)
    response.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="strict",
                        secure=context.settings.console_secure_cookies, path="/signin")  # fmt: skip
    return response


@router.post("/signin")
async def signin(
    request: Request,
    session: SessionDep,
    *,
    context: Annotated[AppContext, Depends(app_context)],
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    lang: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_csrf(request, request.cookies.get(SIGN_IN_COOKIE) or "", csrf)
    settings, client = context.settings, client_address(request)
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    attempt = await run_in_threadpool(
        lambda: sign_in(session, username, password, client=client, policy=policy(settings))
    )
    subject = username[:100]
    if attempt.secret is not None:
        append_admin(session, actor=f"web:{client}", action="signed_in", subject=subject,
                     data={"from": client})  # fmt: skip
        response = redirect(local_path(next))
        response.set_cookie(COOKIE, attempt.secret, httponly=True, samesite="strict",
                            secure=settings.console_secure_cookies, path="/")  # fmt: skip
        response.delete_cookie(SIGN_IN_COOKIE, path="/signin")
        return response
    locked = attempt.locked_until is not None and attempt.locked_until > utcnow()
    failures = attempt.user.failed_signins if attempt.user is not None else 1
    append_admin(session, actor=f"web:{client}", action="locked_out" if locked else
                 "sign_in_failed", subject=subject, data={"from": client})  # fmt: skip
    await asyncio.sleep(min(failures, settings.console_lockout_after) * FAILURE_DELAY_S)
    error = "locked" if locked else "wrong"
    body = page("signin.html", language=chosen(lang), zone=settings.display_timezone,
                csrf=csrf, next=local_path(next), error=error,
                until=attempt.locked_until, sso=_sso(context))  # fmt: skip
    return html(body, status=401)


@router.post("/signout")
def signout(
    request: Request, who: Person, session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    sign_out(session, request.cookies.get(COOKIE, ""))
    response = redirect("/signin")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/language")
def set_language(
    request: Request, who: Person,
    language: Annotated[str, Form(max_length=10)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:  # fmt: skip
    check_csrf(request, who.web.csrf, csrf)
    if language not in LANGUAGES:
        raise InputRejected(f"the console speaks {', '.join(LANGUAGES)}, not {language!r}")
    who.user.language = language
    return redirect(local_path(back))


@router.get("/")
def dashboard(who: Person, session: SessionDep) -> Response:
    if not who.user.has_any(frozenset({Role.CUSTODIAN, Role.ADMIN})):
        return redirect("/recordings")
    return dashboard_page(who, session)


def dashboard_page(
    who: Visitor, session: SessionDep, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    """The custodian's first page; ``errors`` beside an alert's acknowledgement form."""
    now = utcnow()
    since = now - timedelta(hours=24)
    stations = list(session.execute(select(Station).order_by(Station.name)).scalars())
    ingested = session.execute(
        select(func.count()).select_from(EvidenceItem).where(EvidenceItem.ingested_at >= since)
    ).scalar_one()
    latest = list_items(session, ItemFilter(limit=10))
    deadline = deadline_of(who.settings)
    files = waiting_files(session, deadline=deadline, now=now)
    waiting = {s.name: files.get(s.id, []) for s in stations}
    gaps = [g for g in list_gaps(session, who.settings) if g.explanation is None]
    return html(render_for(
        who, "dashboard.html", stations=stations, ingested=ingested,
        alerts=recent_alerts(session, limit=20, open_only=True), errors=errors or {},
        latest=latest, now=now, waiting=waiting, warning_hours=deadline.warning / HOUR,
        deadline_hours=deadline.limit / HOUR, gaps=gaps, flagged=flagged_counts(session),
        fixity=fixity_summary(session),
    ), status=status)  # fmt: skip


@router.get("/recordings")
def recordings(
    who: Person,
    session: SessionDep,
    *,
    station: Annotated[str, Query(max_length=100)] = "",
    device: Annotated[str, Query(max_length=100)] = "",
    officer: Annotated[str, Query(max_length=100)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
) -> Response:
    allowed(who, *EVIDENCE_READERS)
    zone = who.settings.display_timezone
    form = {"station": station, "device": device, "officer": officer, "since": since,
            "until": until, "status": status, "q": q}  # fmt: skip
    errors: dict[str, str] = {}
    bounds = {}
    for name in ("since", "until"):
        try:
            bounds[name] = moment(form[name] or None, name=name, zone=zone)
        except InputRejected as exc:
            errors[name] = str(exc)
    try:
        state = ItemStatus(status) if status else None
    except ValueError:
        errors["status"], state = f"no status {status!r}", None
    found = [] if errors else list_items(session, ItemFilter(
        station or None, device or None, officer or None, bounds.get("since"),
        bounds.get("until"), state, PAGE_SIZE + 1, q.strip() or None,
        (page_number - 1) * PAGE_SIZE,
    ))  # fmt: skip
    stations = list(session.execute(select(Station.name).order_by(Station.name)).scalars())
    return html(render_for(who, "recordings.html", items=found[:PAGE_SIZE], form=form,
                        errors=errors, page=page_number, more=len(found) > PAGE_SIZE,
                        stations=stations, statuses=[s.value for s in ItemStatus]))  # fmt: skip


@router.get("/recordings/{ref}")
def recording(who: Person, session: SessionDep, ref: str) -> Response:
    allowed(who, *EVIDENCE_READERS)
    item = find_item(session, ref)
    events = events_for(session, item.id)
    copies = copies_out(session, item).copies  # as GET /items/{ref}/copies and `evault show`
    holds = session.execute(
        select(LegalHold).where(LegalHold.item_id == item.id).order_by(LegalHold.placed_at)
    ).scalars()
    # Auditors and custodians check the chain in their own browser, into a checkpoint they
    # choose (the latest few are offered; the API proves into any).
    provable = who.user.has_any(frozenset({Role.AUDITOR, Role.CUSTODIAN}))
    into = recent_checkpoints(session, limit=CHECKPOINT_CHOICES) if provable else []
    return html(render_for(who, "recording.html", item=item, events=events, copies=copies,
                           holds=list(holds), provable=provable, checkpoints=into))  # fmt: skip
