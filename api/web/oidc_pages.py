"""Signing in through the agency's OpenID Connect provider: /signin/oidc sends the browser to
the provider with this sign-in's state, nonce and PKCE challenge (kept in a short-lived cookie
of its own), and the callback proves the person, admits them with the roles their groups give,
and opens a console session. Every sign-in and every refusal is in the administration log."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote, unquote

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.http.deps import app_context
from api.web.guard import client_address, html, local_path, secure
from api.web.i18n import chosen
from api.web.oidc_client import Flow, Provider, SignInRefused
from api.web.one_call import PageRouter
from api.web.render import page
from custody.admin.identity import ProvenIdentity, admit
from custody.admin.log import append_admin
from vault.db import unit_of_work
from vault.errors import AccessDenied, Conflict, InputRejected, NotFound
from vault.signin import COOKIE, open_session

router = PageRouter(include_in_schema=False)
FLOW_COOKIE = "evault_oidc"
FLOW_PATH = "/signin/oidc"  # the cookie goes to the start and the callback, nowhere else
FLOW_SECONDS = 600  # a person has ten minutes at the provider
Context = Annotated[AppContext, Depends(app_context)]


def provider_of(request: Request) -> Provider:
    found: Provider | None = request.app.state.oidc
    if found is None:
        raise NotFound("single sign-on is not set up on this vault ([oidc] in its settings)")
    return found


def _flow_cookie(flow: Flow) -> str:
    # The pieces are URL-safe tokens; the page to return to is quoted, so no cookie separator
    # (space, comma, semicolon, quote) can appear in it.
    return ".".join((flow.state, flow.nonce, flow.verifier, quote(flow.next, safe="/")))


def _flow_from(cookie: str) -> Flow | None:
    parts = cookie.split(".", 3)
    if len(parts) != 4 or not all(parts[:3]):
        return None
    return Flow(parts[0], parts[1], parts[2], local_path(unquote(parts[3])))


@router.get("/signin/oidc")
async def oidc_start(request: Request, context: Context, next: str = "/") -> Response:
    provider = provider_of(request)
    flow = Flow.start(local_path(next))
    target = await run_in_threadpool(provider.authorization_url, flow)
    response = secure(RedirectResponse(target, status_code=303))
    # SameSite=Lax, not Strict: the provider's redirect back is a navigation from its site,
    # and the callback must see this cookie to match the state it returns.
    response.set_cookie(FLOW_COOKIE, _flow_cookie(flow), max_age=FLOW_SECONDS, httponly=True,
                        samesite="lax", secure=context.settings.console_secure_cookies,
                        path=FLOW_PATH)  # fmt: skip
    return response


@router.get("/signin/oidc/callback")
async def oidc_callback(
    request: Request,
    context: Context,
    *,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
    error_description: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    provider, client = provider_of(request), client_address(request)
    flow = _flow_from(request.cookies.get(FLOW_COOKIE, ""))
    subject = ""
    try:
        if flow is None:
            raise SignInRefused(
                "this sign-in was not started from this browser, or took longer than ten"
                " minutes: start it again"
            )
        if not secrets.compare_digest(state.encode(), flow.state.encode()):
            raise SignInRefused("the provider's answer does not belong to this sign-in (state)")
        if error:
            raise SignInRefused(f"the identity provider refused: {error} {error_description}")
        identity = await run_in_threadpool(provider.identity, code, flow)
        subject = identity.username
        secret = await run_in_threadpool(_admit, context, identity, client)
    except (AccessDenied, Conflict, InputRejected) as exc:  # SignInRefused is an AccessDenied
        await run_in_threadpool(_record_refusal, context, subject, client, str(exc))
        body = page("signin.html", language=chosen(request.query_params.get("lang")),
                    zone=context.settings.display_timezone, csrf="", next="/",
                    error="provider", detail=str(exc), sso=provider.config.label,
                    password_form=False)  # fmt: skip
        response = html(body, status=403)
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
        return response
    assert flow is not None
    # The session cookie is SameSite=Strict, and this response ends a navigation that began
    # at the provider: a redirect would still be cross-site and go without the cookie. A page
    # of this site that moves on by itself makes the next request same-site.
    body = page("signed_in.html", language=chosen(None), zone=context.settings.display_timezone,
                next=flow.next)  # fmt: skip
    response = html(body)
    response.set_cookie(COOKIE, secret, httponly=True, samesite="strict",
                        secure=context.settings.console_secure_cookies, path="/")  # fmt: skip
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response


def _admit(context: AppContext, identity: ProvenIdentity, client: str) -> str:
    settings = context.settings
    assert settings.oidc is not None
    with unit_of_work(context.factory) as session:
        user = admit(session, identity, group_roles=settings.oidc.group_roles,
                     admin_may_approve=settings.admin_may_approve)  # fmt: skip
        secret = open_session(session, user, client=client)
        append_admin(session, actor=f"web:{client}", action="signed_in", subject=user.username,
                     data={"from": client, "through": identity.issuer})  # fmt: skip
    return secret


def _record_refusal(context: AppContext, subject: str, client: str, reason: str) -> None:
    with unit_of_work(context.factory) as session:
        append_admin(session, actor=f"web:{client}", action="sign_in_failed",
                     subject=subject[:100] or "(unknown)",
                     data={"from": client, "reason": reason[:500]})  # fmt: skip
