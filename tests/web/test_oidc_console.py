"""Issue 20, single sign-on in a real browser against a real OpenID Connect provider
(oidc-provider-mock, an authlib-built provider served on its own port: another site than the
console). A person whose groups map to a role signs in with one click and holds those roles;
their groups changed at the provider change their roles at the next sign-in; a person whose
groups give no role, a refusal at the provider, an answer without this browser's sign-in
(login CSRF) and an answer with another state are refused and recorded, with no session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import oidc_provider_mock
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from custody.admin.models import AdminEvent
from tests.web.conftest import Console
from vault.db import unit_of_work
from vault.models import User

CLIENT = "evidence-vault"
GROUPS = {"bwc-custodians": ["custodian"], "detectives": ["investigator"]}


@pytest.fixture
def provider() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def console_options(provider: str, console_port: int) -> dict[str, object]:
    return {
        "oidc": {
            "issuer": provider, "client_id": CLIENT, "client_secret": "a-client-secret-0123",
            "console_url": f"http://127.0.0.1:{console_port}", "group_roles": GROUPS,
            "label": "Police ID 警务身份认证",
        }
    }  # fmt: skip


def _at_provider(provider: str, sub: str, **claims: Any) -> None:
    answer = httpx.put(f"{provider}/users/{quote(sub)}", json=claims, timeout=60)
    assert answer.status_code == 204, answer.text


def _sso(console: Console, page: Page, sub: str) -> None:
    page.goto(f"{console.url}/signin")
    page.click("#sso")
    page.wait_for_url("**/oauth2/authorize**")
    page.fill("input[name=sub]", sub)
    page.get_by_role("button", name="Authorize").click()


def _log(console: Console) -> list[tuple[str, str, str, dict[str, Any]]]:
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        events = session.execute(select(AdminEvent).order_by(AdminEvent.seq)).scalars()
        return [(e.actor, e.action, e.subject, dict(e.data)) for e in events]


def test_a_person_signs_in_through_the_provider_with_their_groups_roles(
    console: Console, page: Page, provider: str
) -> None:
    _at_provider(provider, "8c1f-ana", preferred_username="ana", name="Ana Lin",
                 groups=["bwc-custodians", "canteen"])  # fmt: skip
    page.goto(f"{console.url}/signin")
    expect(page.locator("#sso")).to_have_text("Police ID 警务身份认证")
    console.shot(page, "oidc-signin-zh")
    _sso(console, page, "8c1f-ana")
    page.wait_for_url(f"{console.url}/")  # through the signed-in page, by itself
    expect(page.locator(".who")).to_have_text("ana (custodian)")
    console.shot(page, "oidc-dashboard-zh")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session_cookie = cookies["evault_session"]
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Strict"
    assert "evault_oidc" not in cookies  # the flow's secrets are gone once used

    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        ana = session.execute(select(User).where(User.username == "ana")).scalar_one()
        assert (ana.identity_issuer, ana.identity_subject) == (provider, "8c1f-ana")
        assert ana.display_name == "Ana Lin" and ana.password_hash is None
    actor = f"oidc:{provider}"
    added = [(a, act, s) for a, act, s, _ in _log(console) if s == "ana"]
    assert added[:2] == [(actor, "user_added", "ana"), ("web:127.0.0.1", "signed_in", "ana")]
    assert _log(console)[-1][3] == {"from": "127.0.0.1", "through": provider}

    # Moved to the detectives at the provider: investigator at the next sign-in, recorded.
    _at_provider(provider, "8c1f-ana", preferred_username="ana", groups=["detectives"])
    page.click("header form[action='/signout'] button")
    page.wait_for_url("**/signin")
    _sso(console, page, "8c1f-ana")
    page.wait_for_url(f"{console.url}/**")
    expect(page.locator(".who")).to_have_text("ana (investigator)")
    changed = [(act, d) for a, act, s, d in _log(console) if act == "roles_changed"]
    assert changed == [("roles_changed", {"granted": ["investigator"], "removed": ["custodian"],
                                          "roles": ["investigator"]})]  # fmt: skip

    # The auditor's sign-in record names the provider.
    page.click("header form[action='/signout'] button")
    console.sign_in(page, "sun")
    page.goto(f"{console.url}/sign-ins")
    expect(page.locator("tr.signed_in", has_text="ana").first).to_contain_text(f"经由 {provider}")
    console.shot(page, "oidc-sign-ins-zh")


def test_refusals_open_no_session_and_are_recorded(
    console: Console, page: Page, provider: str
) -> None:
    # Groups that give no role in the vault.
    _at_provider(provider, "wu-77", preferred_username="wu", groups=["canteen"])
    _sso(console, page, "wu-77")
    page.wait_for_url("**/signin/oidc/callback**")
    expect(page.locator("p.error")).to_contain_text("give no role in the vault")
    console.shot(page, "oidc-refused-zh")
    # A person with the name of a local account: never that account.
    _at_provider(provider, "x-chen", preferred_username="chen", groups=["detectives"])
    _sso(console, page, "x-chen")
    expect(page.locator("p.error")).to_contain_text("belongs to another account")
    # Refused at the provider: its answer carries the state (RFC 6749 4.1.2.1) and the error.
    page.goto(f"{console.url}/signin")
    page.click("#sso")
    page.wait_for_url("**/oauth2/authorize**")
    state = parse_qs(urlsplit(page.url).query)["state"][0]
    page.goto(f"{console.url}/signin/oidc/callback?error=access_denied&state={state}"
              "&error_description=The+resource+owner+denied+the+request")  # fmt: skip
    expect(page.locator("p.error")).to_contain_text("access_denied")
    # Another state than this browser's sign-in started (its flow cookie is set).
    page.goto(f"{console.url}/signin")
    page.click("#sso")
    page.wait_for_url("**/oauth2/authorize**")
    page.goto(f"{console.url}/signin/oidc/callback?code=stolen&state=not-this-one")
    expect(page.locator("p.error")).to_contain_text("does not belong to this sign-in")
    assert "evault_session" not in {c["name"] for c in page.context.cookies()}

    # Login CSRF: a provider's answer sent to a browser that started no sign-in.
    forged = httpx.get(f"{console.url}/signin/oidc/callback",
                       params={"code": "any", "state": "any"}, timeout=60)  # fmt: skip
    assert forged.status_code == 403 and "evault_session" not in forged.cookies
    assert "not started from this browser" in forged.text

    failures = [(s, d["reason"]) for _, act, s, d in _log(console) if act == "sign_in_failed"]
    assert [s for s, _ in failures] == ["wu", "chen", "(unknown)", "(unknown)", "(unknown)"]
    assert "access_denied" in failures[2][1] and "state" in failures[3][1]
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        names = set(session.execute(select(User.username)).scalars())
        chen = session.execute(select(User).where(User.username == "chen")).scalar_one()
    assert "wu" not in names and chen.identity_issuer is None and chen.roles == ["custodian"]
    assert not [e for e in _log(console) if e[1] == "signed_in"]


def test_the_sign_in_page_in_english_offers_both_ways(console: Console, page: Page) -> None:
    page.goto(f"{console.url}/signin?lang=en")
    expect(page.locator("#sso")).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()
    console.shot(page, "oidc-signin-en")
    without = httpx.get(f"{console.url}/signin/oidc", timeout=60, follow_redirects=False)
    assert (
        without.status_code == 303 and "code_challenge_method=S256" in without.headers["location"]
    )
    flow = without.cookies.get("evault_oidc")
    assert flow is not None and "samesite=lax" in without.headers["set-cookie"].lower()
