"""Issue 20, single sign-on: what the console believes of an id_token, and what a proven
person becomes in the vault. A token proves nothing unless its signature is by the
provider's key, and its issuer, audience, nonce and times all hold; a person proven by the
provider never takes a local account's name, holds the roles their groups give (through the
administrative acts, so separation of duties and the administration log apply), and has no
console password."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey
from sqlalchemy import select

from api.web.guard import local_path
from api.web.oidc_client import SignInRefused, verified_claims
from custody.admin import acts
from custody.admin.identity import ProvenIdentity, admit
from custody.admin.models import AdminEvent
from tests.conftest import Vault
from vault.db import unit_of_work
from vault.errors import AccessDenied, Conflict
from vault.models import User

ISSUER, CLIENT, NONCE = "https://id.example-police.cn", "evidence-vault", "n-0123456789"
PROVIDER_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider-1"})
PUBLISHED = KeySet([PROVIDER_KEY])
GROUPS = {"bwc-custodians": ["custodian"], "detectives": ["investigator"],
          "it-admins": ["admin"], "duty-officers": ["approver"]}  # fmt: skip


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "8c1f", "aud": CLIENT, "nonce": NONCE, "iat": now,
              "exp": now + 300, "preferred_username": "ana"}  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(claims: dict[str, Any], key: Any = PROVIDER_KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "provider-1"}, claims, key)


def _check(token: str) -> dict[str, Any]:
    return verified_claims(token, PUBLISHED, issuer=ISSUER, client_id=CLIENT, nonce=NONCE)


def test_a_token_signed_by_the_provider_with_every_claim_right_holds() -> None:
    assert _check(_token(_claims()))["preferred_username"] == "ana"
    several = _claims(aud=[CLIENT, "another-app"], azp=CLIENT)
    assert _check(_token(several))["sub"] == "8c1f"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"iss": "https://id.elsewhere.cn"}, "iss"),
        ({"aud": "another-app"}, "aud"),
        ({"aud": [CLIENT, "another-app"], "azp": "another-app"}, "several clients"),
        ({"nonce": "a-replayed-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": -3600}, "exp"),  # seconds from now, when the test runs
        ({"iat": None}, "iat"),
        ({"sub": None}, "sub"),
    ],
)
def test_a_token_with_a_wrong_claim_proves_nothing(changes: dict[str, Any], why: str) -> None:
    if "exp" in changes:
        changes = {**changes, "exp": int(time.time()) + changes["exp"]}
    with pytest.raises(SignInRefused, match=why):
        _check(_token(_claims(**changes)))


def test_a_token_not_signed_by_the_providers_key_proves_nothing() -> None:
    forger = RSAKey.generate_key(2048, parameters={"kid": "provider-1"})
    with pytest.raises(SignInRefused):
        _check(_token(_claims(), forger))
    with pytest.raises(SignInRefused):  # another kind of key under the provider's kid
        _check(_token(_claims(), ECKey.generate_key("P-256"), "ES256"))
    # An HMAC keyed with a secret the client knows (or the public key's bytes) is refused
    # whatever the key: the client secret must never be able to mint identities.
    with pytest.raises(SignInRefused):
        _check(_token(_claims(), OctKey.import_key("client-secret-" * 4), "HS256"))
    header, payload, _ = _token(_claims()).split(".")
    with pytest.raises(SignInRefused):  # the signature cut off
        _check(f"{header}.{payload}.")
    unsigned = jwt.encode({"alg": "none"}, _claims(), None, algorithms=["none"])
    with pytest.raises(SignInRefused):
        _check(unsigned)


def _person(username: str = "ana", subject: str = "8c1f", *groups: str) -> ProvenIdentity:
    return ProvenIdentity(ISSUER, subject, username, "Ana Lin", groups)


def _admit(vault: Vault, identity: ProvenIdentity) -> list[str]:
    with unit_of_work(vault.app.factory) as session:
        return list(admit(session, identity, group_roles=GROUPS, admin_may_approve=False).roles)


def _log(vault: Vault) -> list[tuple[str, str, str]]:
    with unit_of_work(vault.app.factory, read_only=True) as session:
        events = session.execute(select(AdminEvent).order_by(AdminEvent.seq)).scalars()
        return [(e.actor, e.action, e.subject) for e in events]


def test_a_proven_person_holds_the_roles_their_groups_give(vault: Vault) -> None:
    assert _admit(vault, _person("ana", "8c1f", "bwc-custodians", "canteen")) == ["custodian"]
    # Groups changed at the provider: the roles follow at the next sign-in, recorded.
    assert _admit(vault, _person("ana", "8c1f", "detectives")) == ["investigator"]
    # The provider renamed the person: the same account (custody entries name it).
    assert _admit(vault, _person("ana.lin", "8c1f", "detectives")) == ["investigator"]
    actor = f"oidc:{ISSUER}"
    assert _log(vault) == [(actor, "user_added", "ana"), (actor, "roles_changed", "ana")]
    with unit_of_work(vault.app.factory, read_only=True) as session:
        ana = session.execute(select(User).where(User.identity_subject == "8c1f")).scalar_one()
        assert (ana.username, ana.identity_issuer, ana.password_hash) == ("ana", ISSUER, None)


def test_no_role_no_takeover_no_forbidden_pair_no_password(vault: Vault) -> None:
    with pytest.raises(AccessDenied, match="give no role"):
        _admit(vault, _person("ana", "8c1f", "canteen"))
    with unit_of_work(vault.app.factory) as session:
        acts.add_user(session, actor="test", username="chen", roles=["custodian"])
    with pytest.raises(Conflict, match="belongs to another account"):  # a local account's name
        _admit(vault, _person("chen", "77aa", "it-admins"))
    with pytest.raises(Conflict, match="separation of duties"):
        _admit(vault, _person("wu", "91bc", "it-admins", "duty-officers"))
    assert _admit(vault, _person("ana", "8c1f", "bwc-custodians")) == ["custodian"]
    with pytest.raises(Conflict, match="belongs to another account"):  # another subject
        _admit(vault, _person("ana", "other-subject", "bwc-custodians"))
    with unit_of_work(vault.app.factory) as session, pytest.raises(Conflict, match="provider"):
        acts.set_password(session, actor="test", username="ana", password="x" * 20)
    with unit_of_work(vault.app.factory) as session:
        acts.disable_user(session, actor="test", username="ana")
    with pytest.raises(AccessDenied, match="disabled"):
        _admit(vault, _person("ana", "8c1f", "bwc-custodians"))
    with unit_of_work(vault.app.factory, read_only=True) as session:
        chen = session.execute(select(User).where(User.username == "chen")).scalar_one()
        assert chen.roles == ["custodian"] and chen.identity_issuer is None
        assert session.execute(select(User.username).where(User.username == "wu")).first() is None


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example",
     "https://evil.example/", "evil", "/ /x", "/\x7f", ""],
)  # fmt: skip
def test_the_page_to_return_to_is_always_of_this_site(target: str) -> None:
    # After a sign-in (password or provider) the browser goes to `next`: never elsewhere.
    assert local_path(target) == "/"
    assert local_path("/recordings?q=CAM7&page=2") == "/recordings?q=CAM7&page=2"
