"""Signing in with OpenID Connect: the authorization code flow with PKCE (Authlib's
OAuth2Session), the ID token's signature, issuer, audience, expiry and nonce checked
(joserfc, with the provider's published keys), and the person matched to a user.

The provider is found by discovery (`<issuer>/.well-known/openid-configuration`, kept an
hour; its `issuer` must be the one configured). A user is found by the provider's subject
once they have signed in with it; the first time, by a verified email address (a user
whose email, or whose name, is that address), or created with the role
STATUSWEB_OIDC_AUTO_CREATE names, in the default organization. With
STATUSWEB_OIDC_EMAIL_DOMAINS set, only addresses of those domains sign in, every time."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from statusweb.models import DEFAULT_SLUG, MEMBER_ROLES, User

DISCOVERY_SECONDS = 3600.0
TIMEOUT = 10.0
LEEWAY = 60  # seconds of clock difference allowed on exp, iat and nbf
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
SCOPE = "openid email profile"


class OidcError(Exception):
    """A sign-in that cannot go on; the message is for the person signing in (never a
    secret, never the provider's raw answer). `status`: 400 for a sign-in gone wrong,
    403 for a person who may not sign in here, 502 when the provider did not answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    auto_create: str = ""  # a role for people with no user yet ("": they are refused)
    email_domains: tuple[str, ...] = ()
    label: str = "Sign in with single sign-on"

    @classmethod
    def read(cls, values: dict[str, str]) -> OidcSettings | None:
        """From the STATUSWEB_OIDC_* values (ini keys statusweb.oidc_*): None when no issuer
        is set; ValueError naming the variable when one is wrong."""
        issuer = values.get("issuer", "").strip().rstrip("/")
        if not issuer:
            return None
        parts = urlsplit(issuer)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError(f"STATUSWEB_OIDC_ISSUER must be an https:// URL, got {issuer!r}")
        client_id, secret = values.get("client_id", "").strip(), values.get("client_secret", "").strip()
        if not client_id or not secret:
            missing = "STATUSWEB_OIDC_CLIENT_ID" if not client_id else "STATUSWEB_OIDC_CLIENT_SECRET"
            raise ValueError(f"{missing} is not set: STATUSWEB_OIDC_ISSUER needs a client id and its secret")
        role = values.get("auto_create", "").strip().lower()
        if role and role not in MEMBER_ROLES:
            raise ValueError(f"STATUSWEB_OIDC_AUTO_CREATE names a role ({', '.join(MEMBER_ROLES)}) or is empty")
        domains = tuple(d.strip().lower().lstrip("@") for d in values.get("email_domains", "").split(",") if d.strip())
        label = " ".join(values.get("label", "").split())[:80] or cls.label
        return cls(issuer, client_id, secret, role, domains, label)


@dataclass
class Pending:
    """What the session keeps between sending someone to the provider and their return."""

    state: str
    nonce: str
    verifier: str
    next: str
    at: float

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier, "next": self.next, "at": self.at}


class Provider:
    """One provider: its discovery document and keys, fetched when first needed."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._metadata: dict[str, Any] = {}
        self._keys: Any = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def metadata(self, *, fresh: bool = False) -> dict[str, Any]:
        import requests

        with self._lock:
            if fresh or not self._metadata or time.monotonic() - self._fetched_at > DISCOVERY_SECONDS:
                from joserfc.errors import JoseError
                from joserfc.jwk import KeySet

                try:
                    found = _json(
                        requests.get(f"{self.settings.issuer}/.well-known/openid-configuration", timeout=TIMEOUT)
                    )
                    if found.get("issuer", "").rstrip("/") != self.settings.issuer:
                        raise OidcError("The sign-in provider names another issuer; ask the operator to check it.", 502)
                    keys = KeySet.import_key_set(_json(requests.get(str(found["jwks_uri"]), timeout=TIMEOUT)))  # type: ignore[arg-type]
                except (requests.RequestException, JoseError, KeyError, TypeError, ValueError) as exc:
                    raise OidcError(
                        f"The sign-in provider did not answer ({type(exc).__name__}); try again.", 502
                    ) from None
                self._metadata, self._keys, self._fetched_at = found, keys, time.monotonic()
            return self._metadata

    def _client(self, redirect_uri: str) -> Any:
        from authlib.integrations.requests_client import OAuth2Session

        return OAuth2Session(
            self.settings.client_id,
            self.settings.client_secret,
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )

    def begin(self, redirect_uri: str, next_url: str) -> tuple[str, Pending]:
        """The provider's authorization URL to send the browser to, and what to keep."""
        endpoint = self.metadata()["authorization_endpoint"]
        pending = Pending(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next=next_url,
            at=time.time(),
        )
        url, _ = self._client(redirect_uri).create_authorization_url(
            endpoint, state=pending.state, nonce=pending.nonce, code_verifier=pending.verifier
        )
        return str(url), pending

    def finish(self, redirect_uri: str, returned_url: str, pending: Pending) -> dict[str, Any]:
        """The person's claims, from a verified ID token (and the userinfo endpoint for
        what the token leaves out); OidcError for anything not right."""
        import requests
        from authlib.common.errors import AuthlibBaseError

        metadata = self.metadata()
        client = self._client(redirect_uri)
        try:
            token = client.fetch_token(
                metadata["token_endpoint"],
                authorization_response=returned_url,
                code_verifier=pending.verifier,
                state=pending.state,
                timeout=TIMEOUT,
            )
        except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
            raise OidcError(f"The sign-in provider refused the sign-in ({type(exc).__name__}); start again.") from None
        claims = self._verified(str(token.get("id_token") or ""), pending.nonce)
        endpoint = metadata.get("userinfo_endpoint")
        if endpoint and "email" not in claims:
            try:
                info = _json(client.get(endpoint, timeout=TIMEOUT))
            except (AuthlibBaseError, requests.RequestException, ValueError):
                info = {}
            if info.get("sub") == claims["sub"]:  # another subject's answer is not this person's
                claims = {**info, **claims}
        return claims

    def _verified(self, id_token: str, nonce: str) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError

        if not id_token:
            raise OidcError("The sign-in provider sent no ID token.")
        allowed = [
            alg
            for alg in SIGNING_ALGORITHMS
            if alg in self.metadata().get("id_token_signing_alg_values_supported", ["RS256"])
        ]
        try:
            try:
                decoded = jwt.decode(id_token, self._keys, algorithms=allowed)
            except JoseError:  # the provider may have rotated its keys: fetch them once more
                self.metadata(fresh=True)
                decoded = jwt.decode(id_token, self._keys, algorithms=allowed)
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY,
                iss={"essential": True, "value": self.settings.issuer},
                aud={"essential": True, "value": self.settings.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"The ID token did not verify ({type(exc).__name__}); start again.") from None
        claims = dict(decoded.claims)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise OidcError("The ID token was made for another application.")
        return claims


def user_for(session: Session, settings: OidcSettings, claims: dict[str, Any], now: datetime) -> User:
    """The user these verified claims sign in (created when STATUSWEB_OIDC_AUTO_CREATE
    says so); OidcError saying why not."""
    from statusweb.services.organizations import join, organization_named

    subject = f"{settings.issuer} {claims['sub']}"[:600]
    email = str(claims.get("email") or "").strip()
    verified = claims.get("email_verified") is True or str(claims.get("email_verified")).lower() == "true"
    if settings.email_domains and (not verified or email.rsplit("@", 1)[-1].lower() not in settings.email_domains):
        raise OidcError("Accounts of that email domain do not sign in here.", 403)
    user = session.scalar(select(User).where(User.oidc_subject == subject))
    if user is None:
        if not email or not verified:
            raise OidcError("Your account at the sign-in provider has no verified email address.")
        user = session.scalar(
            select(User).where(or_(func.lower(User.email) == email.lower(), func.lower(User.name) == email.lower()))
        )
        if user is None and not settings.auto_create:
            raise OidcError(f"Nobody named {email} may sign in here; ask an owner to add you.", 403)
        if user is None:
            user = User(name=email[:100], email=email[:254], role="editor", created_at=now)
            user.set_password(secrets.token_urlsafe(32))  # nobody's: they sign in through the provider
            session.add(user)
            join(session, user, organization_named(session, DEFAULT_SLUG, now), settings.auto_create, now)
        user.oidc_subject = subject
        taken = session.scalar(select(User.id).where(func.lower(User.email) == email.lower(), User.id != user.id))
        if not user.email and taken is None:
            user.email = email[:254]
    if user.disabled:
        raise OidcError("This account is disabled.", 403)
    return user


def _json(response: Any) -> dict[str, Any]:
    response.raise_for_status()
    found = response.json()
    if not isinstance(found, dict):
        raise ValueError("not a JSON object")
    return found
