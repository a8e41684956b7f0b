"""Who may do what, and the headers every response carries.

Sessions are signed cookies (HttpOnly, SameSite=Lax; Secure when `statusweb.secure_cookies`),
the secret comes from STATUSWEB_SECRET; every POST needs the session's CSRF token;
failed logins are rate-limited per address and name.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

from pyramid.security import Allowed, Denied
from pyramid.config import Configurator
from pyramid.events import NewResponse
from pyramid.session import SignedCookieSessionFactory
from sqlalchemy import select

from .models import User
from .settings import as_bool

log = logging.getLogger("statusweb.security")

CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                           "script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                           "base-uri 'none'; object-src 'none'")
PERMISSIONS = {"edit": ("admin", "editor"), "manage_users": ("admin",)}


class SecurityPolicy:
    """The logged-in user comes from the session; permissions from the user's role."""

    def identity(self, request: Any) -> User | None:
        user_id = request.session.get("user_id")
        if user_id is None:
            return None
        return request.dbsession.scalar(select(User).where(User.id == user_id))

    def authenticated_userid(self, request: Any) -> int | None:
        user = request.identity
        return user.id if user is not None else None

    def permits(self, request: Any, context: Any, permission: str) -> Any:
        user = request.identity
        if user is not None and user.role in PERMISSIONS.get(permission, ()):
            return Allowed(f"{user.role} may {permission}")
        return Denied(f"{permission} needs one of {PERMISSIONS.get(permission, ())}")

    def remember(self, request: Any, userid: int, **kw: Any) -> list[tuple[str, str]]:
        request.session.invalidate()  # a fresh session on login: no fixation
        request.session["user_id"] = userid
        return []

    def forget(self, request: Any, **kw: Any) -> list[tuple[str, str]]:
        request.session.invalidate()
        return []


class LoginLimiter:
    """At most `attempts` failed logins per address and name in `window` seconds, then
    a pause of `window` seconds. In memory: per process, which is the deployment."""

    def __init__(self, attempts: int = 5, window: float = 900.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, address: str, name: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._failures.get((address, name.lower()), []) if now - t < self.window]
            self._failures[(address, name.lower())] = recent
        if len(recent) < self.attempts:
            return 0.0
        return self.window - (now - recent[0])

    def failed(self, address: str, name: str, now: float | None = None) -> None:
        with self._lock:
            self._failures.setdefault((address, name.lower()), []).append(
                time.monotonic() if now is None else now)

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop((address, name.lower()), None)


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    secret = settings.get("statusweb.secret") or ""
    if not secret:
        secret = secrets.token_hex(32)
        log.warning("no STATUSWEB_SECRET: sessions use a random secret and end when the process does")
    config.set_session_factory(SignedCookieSessionFactory(
        secret, cookie_name="statusweb_session", httponly=True, samesite="Lax",
        secure=as_bool(settings.get("statusweb.secure_cookies", "false")), max_age=12 * 3600,
        timeout=12 * 3600, reissue_time=600))
    config.set_security_policy(SecurityPolicy())
    config.set_default_csrf_options(require_csrf=True)
    config.registry["statusweb.login_limiter"] = LoginLimiter(
        attempts=int(settings.get("statusweb.login_attempts", 5)),
        window=float(settings.get("statusweb.login_window_seconds", 900)))
    hsts = as_bool(settings.get("statusweb.hsts", "false"))

    def add_headers(event: Any) -> None:
        headers = event.response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if hsts:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

    config.add_subscriber(add_headers, NewResponse)
