"""The console as an OpenID Connect relying party: the authorization code flow with PKCE
(authlib), the code exchanged over the back channel with the client secret, and the id_token
checked before anything is believed (joserfc): its signature by a key the provider publishes,
its issuer, audience, nonce, expiry and issue time. Blocking calls: run them off the event loop."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from config.settings import OidcConfig
from custody.admin.identity import ProvenIdentity
from vault import accounts
from vault.errors import NotAuthenticated, Unavailable

# Asymmetric signatures only: "none" proves nothing, and an HMAC keyed with the client secret
# would let anyone who holds the secret mint identities.
SIGNATURES = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA")  # fmt: skip
LEEWAY_S = 60  # clocks of the vault and the provider may differ by this much


@dataclass(frozen=True)
class Flow:
    """One sign-in's secrets, kept in the browser's flow cookie until the provider returns."""

    state: str
    nonce: str
    verifier: str
    next: str

    @classmethod
    def start(cls, next_page: str) -> Flow:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24),
                   secrets.token_urlsafe(48), next_page)  # fmt: skip


class SignInRefused(NotAuthenticated):
    """The provider's answer proves nothing (a wrong state, a bad token, a refusal there)."""


class Provider:
    """One configured provider; its discovery document and keys are fetched once and kept
    (the keys again when a token names one not seen yet: the provider rotated them)."""

    def __init__(self, config: OidcConfig) -> None:
        for roles in config.group_roles.values():
            accounts.parse_roles(roles)  # a mistyped role fails at start-up, not at sign-in
        self.config = config
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    @property
    def redirect_uri(self) -> str:
        return f"{self.config.console_url}/signin/oidc/callback"

    def _client(self) -> OAuth2Session:
        return OAuth2Session(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret.get_secret_value(),
            scope=" ".join(self.config.scopes), redirect_uri=self.redirect_uri,
            code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method's name
        )  # fmt: skip

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=self.config.timeout_seconds)
            response.raise_for_status()
            found = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise Unavailable(f"the identity provider did not answer at {url}: {exc}") from None
        if not isinstance(found, dict):
            raise Unavailable(f"the identity provider's {url} is not a JSON object")
        return found

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None:
                found = self._get_json(f"{self.config.issuer}/.well-known/openid-configuration")
                if found.get("issuer") != self.config.issuer:
                    raise Unavailable(
                        f"the provider's discovery document names the issuer"
                        f" {found.get('issuer')!r}, not {self.config.issuer!r}"
                    )
                self._metadata = found
            return self._metadata

    def _key_set(self, *, refresh: bool) -> KeySet:
        with self._lock:
            keys = self._keys
        if keys is None or refresh:
            keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
            with self._lock:
                self._keys = keys
        return keys

    def authorization_url(self, flow: Flow) -> str:
        url, _ = self._client().create_authorization_url(
            self.metadata()["authorization_endpoint"], state=flow.state, nonce=flow.nonce,
            code_verifier=flow.verifier,
        )  # fmt: skip
        return str(url)

    def identity(self, code: str, flow: Flow) -> ProvenIdentity:
        """Exchange the code and prove who signed in; SignInRefused says why not."""
        try:
            token = self._client().fetch_token(
                self.metadata()["token_endpoint"], code=code, code_verifier=flow.verifier,
                timeout=self.config.timeout_seconds,
            )  # fmt: skip
        except requests.RequestException as exc:
            raise Unavailable(f"the identity provider's token endpoint: {exc}") from None
        except Exception as exc:  # authlib's OAuthError and friends: the provider said no
            raise SignInRefused(f"the identity provider refused the code: {exc}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("the identity provider sent no id_token")
        return self._identity_from(self._verified_claims(id_token, flow.nonce))

    def _verified_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        issuer, client_id = self.config.issuer, self.config.client_id
        try:
            keys = self._key_set(refresh=False)
            return verified_claims(id_token, keys, issuer=issuer, client_id=client_id, nonce=nonce)
        except SignInRefused:  # perhaps signed by a key published since: fetch the keys again
            keys = self._key_set(refresh=True)
            return verified_claims(id_token, keys, issuer=issuer, client_id=client_id, nonce=nonce)

    def _identity_from(self, claims: dict[str, Any]) -> ProvenIdentity:
        name = claims.get(self.config.username_claim)
        if not isinstance(name, str) or not name:
            raise SignInRefused(
                f"the id_token has no {self.config.username_claim!r} claim to name the person"
                " (username_claim in [oidc])"
            )
        groups = claims.get(self.config.groups_claim, [])
        if isinstance(groups, str):
            groups = [groups]
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise SignInRefused(f"the id_token's {self.config.groups_claim!r} is not a list")
        display = claims.get("name")
        return ProvenIdentity(
            issuer=self.config.issuer, subject=str(claims["sub"]), username=name,
            display_name=display[:200] if isinstance(display, str) else "",
            groups=tuple(groups),
        )  # fmt: skip


def verified_claims(
    id_token: str, keys: KeySet, *, issuer: str, client_id: str, nonce: str
) -> dict[str, Any]:
    """The id_token's claims once its signature, issuer, audience, nonce and times hold
    (OpenID Connect Core 3.1.3.7); SignInRefused names the first that does not."""
    try:
        decoded = jwt.decode(id_token, keys, algorithms=SIGNATURES)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_S,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)  # fmt: skip
    except (JoseError, ValueError) as exc:
        raise SignInRefused(f"the id_token does not hold: {exc}") from None
    claims = decoded.claims
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        # Several audiences: the authorized party must be this client.
        raise SignInRefused("the id_token is meant for several clients, not this one")
    return claims
