"""Who may do what, and the headers every response carries.

Sessions are signed cookies (HttpOnly, SameSite=Lax; Secure when `statusweb.secure_cookies`),
the secret comes from STATUSWEB_SECRET. A signed cookie alone cannot be revoked, so each
one names a session row (sign_ins.py) and carries its user's session generation and its
login time: logging out ends its row, and every copy of that cookie with it; a new
password or a disabled account bumps the generation and ends every session at once;
no session lives longer than 12 hours however often it is renewed.
Every POST needs the session's CSRF token; failed logins (and wrong second-factor codes)
are limited per address and slowed per account (see `LoginLimiter`); a member of an
organization that requires a second factor is allowed nothing until they enrol.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from pyramid.config import Configurator
from pyramid.events import NewResponse
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory
from sqlalchemy import select
from webob.cookies import SignedSerializer

from statusweb.models import DEFAULT_SLUG, Membership, Organization, User
from statusweb.services import second_factor, sign_ins

log = logging.getLogger("statusweb.services.security")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


def content_security_policy(logo_url: str = "") -> str:
    """The policy, letting images come from the logo's own origin when it is elsewhere."""
    parts = urlsplit(logo_url)
    if parts.scheme != "https" or not parts.netloc:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("img-src 'self' data:", f"img-src 'self' data: https://{parts.netloc}")


# permission -> the organization roles that grant it (models/page.py: owner, admin, member)
PERMISSIONS = {"view": ("owner", "admin", "member"), "edit": ("owner", "admin"), "manage_users": ("owner",)}
WRITERS = PERMISSIONS["edit"]
_ROLES = "statusweb.roles"
SESSION_LIFETIME = int(sign_ins.LIFETIME.total_seconds())  # absolute: from the login, whatever reissuing does
DEVICE_COOKIE = "statusweb_device"
DEVICE_LIFETIME = 30 * 86400
_IDENTITY = "statusweb.identity"
_SIGN_IN = "statusweb.sign_in"  # environ: this request's UserSession row
_MUST_ENROL = "statusweb.must_enrol"


class SecurityPolicy:
    """The logged-in user comes from the session, checked against the database on every
    request (generation, disabled, age); permissions from the user's role."""

    def identity(self, request: Any) -> User | None:
        if _IDENTITY not in request.environ:
            request.environ[_IDENTITY] = self._current_user(request)
        return request.environ[_IDENTITY]

    @staticmethod
    def _current_user(request: Any) -> User | None:
        session = request.session
        user_id = session.get("user_id")
        if user_id is None:
            return None
        user = request.dbsession.get(User, user_id) if isinstance(user_id, int) else None
        issued_at = session.get("issued_at")
        fresh = isinstance(issued_at, (int, float)) and 0 <= time.time() - issued_at <= SESSION_LIFETIME
        if user is None or user.disabled or session.get("generation") != user.session_generation or not fresh:
            session.invalidate()  # ended elsewhere (logout, new password, disabled) or too old
            return None
        row = sign_ins.alive(request.dbsession, user, session.get("key"))
        if row is None:
            session.invalidate()  # ended from another session, or made before sessions had rows
            return None
        request.environ[_SIGN_IN] = row
        return user

    def authenticated_userid(self, request: Any) -> int | None:
        user = request.identity
        return user.id if user is not None else None

    def permits(self, request: Any, context: Any, permission: str) -> Any:
        """Allowed when the user has a granting role in at least one organization; which
        rows they then reach is the admin's scope (organizations_for)."""
        granting = PERMISSIONS.get(permission, ())
        if must_enrol(request):
            return Denied("an organization of yours requires a second factor: enrol first")
        if any(role in granting for role in roles_of(request).values()):
            return Allowed(f"a role in {granting} may {permission}")
        return Denied(f"{permission} needs one of {granting} in an organization")

    def remember(self, request: Any, userid: int, **kw: Any) -> list[tuple[str, str]]:
        """A new session (and its row) for `userid`, replacing this browser's old one."""
        self.forget(request)  # a fresh session on login: no fixation
        user = request.dbsession.get(User, userid)
        key = sign_ins.start(request.dbsession, user, sign_ins.Arrival.of(request))
        request.session.update(user_id=userid, generation=user.session_generation, issued_at=time.time(), key=key)
        for cached in (_IDENTITY, _ROLES, _MUST_ENROL):
            request.environ.pop(cached, None)
        return []

    def forget(self, request: Any, **kw: Any) -> list[tuple[str, str]]:
        """Ends this session: its row, so no copy of the cookie opens the admin again."""
        row = current_sign_in(request)
        if row is not None:
            sign_ins.end(request.dbsession, row.user_id, [row.id])
        request.environ.pop(_SIGN_IN, None)
        request.session.invalidate()
        request.environ[_IDENTITY] = None
        return []


def current_sign_in(request: Any) -> Any:
    """This request's session row (None when nobody is signed in)."""
    return request.environ.get(_SIGN_IN) if request.identity is not None else None


def must_enrol(request: Any) -> bool:
    """The signed-in user has no second factor and an organization of theirs requires one:
    until they enrol, the enrolment page is all of the admin they reach."""
    if _MUST_ENROL not in request.environ:
        user = request.identity
        request.environ[_MUST_ENROL] = (
            user is not None
            and not second_factor.enrolled(user)
            and second_factor.required_for(request.dbsession, user)
        )
    return bool(request.environ[_MUST_ENROL])


def too_many_attempts(request: Any, limiter: LoginLimiter, address: str, name: str, known_device: bool = False) -> str:
    """ "" when this password or code may be tried now; else the sentence to show, with
    the answer made a 429 with Retry-After."""
    wait = limiter.wait_seconds(address, name, known_device=known_device)
    if wait <= 0:
        return ""
    request.response.status_int = 429
    request.response.headers["Retry-After"] = str(int(wait) + 1)
    when = f"{int(wait // 60) + 1} minutes" if wait >= 60 else f"{int(wait) + 1} seconds"
    return f"Too many failed attempts; try again in {when}."


def roles_of(request: Any) -> dict[int, str]:
    """The signed-in user's role in each of their organizations (organization id -> role)."""
    if _ROLES not in request.environ:
        user = request.identity
        request.environ[_ROLES] = (
            {}
            if user is None
            else dict(
                request.dbsession.execute(
                    select(Membership.organization_id, Membership.role).where(Membership.user_id == user.id)
                ).all()
            )
        )
    return dict(request.environ[_ROLES])


def is_install_admin(request: Any) -> bool:
    """Whether the signed-in user owns the default organization: the install's own, whose
    owners decide what only the install may (approving another organization's domain)."""
    default = request.dbsession.scalar(select(Organization.id).where(Organization.slug == DEFAULT_SLUG))
    return default is not None and roles_of(request).get(default) == "owner"


def organizations_for(request: Any, permission: str) -> set[int]:
    """The organizations in which the signed-in user holds `permission`."""
    granting = PERMISSIONS.get(permission, ())
    return {organization for organization, role in roles_of(request).items() if role in granting}


class LoginLimiter:
    """Two limits on failed logins, in memory (per process, which is the deployment).

    Per address and name: `attempts` failures in `window` seconds, then a pause of
    `window` (one machine guessing). Per account, from any address: after
    `account_attempts` failures in `window`, each further try waits a little longer
    (2, 4, 8 ... at most `max_slowdown` seconds) after the last failure: a botnet
    spreading guesses over many addresses gets a handful an hour, while the real
    user waits seconds at worst, and not at all in a browser that has logged in to
    this account before (`device_cookie`). Old entries are pruned as it goes, so
    the memory it holds stays bounded.
    """

    def __init__(
        self,
        attempts: int = 5,
        window: float = 900.0,
        *,
        account_attempts: int = 10,
        max_slowdown: float = 60.0,
        max_keys: int = 100_000,
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.account_attempts = account_attempts
        self.max_slowdown = max_slowdown
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._account_failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def wait_seconds(self, address: str, name: str, now: float | None = None, *, known_device: bool = False) -> float:
        """Seconds this attempt must wait (0: go ahead)."""
        now = time.monotonic() if now is None else now
        key = (address, name.lower())
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.window]
            account = [t for t in self._account_failures.get(name.lower(), []) if now - t < self.window]
        wait = self.window - (now - recent[0]) if len(recent) >= self.attempts else 0.0
        excess = len(account) - self.account_attempts
        if excess >= 0 and not known_device:
            slowdown = min(self.max_slowdown, 2.0 ** (excess + 1))
            wait = max(wait, slowdown - (now - account[-1]))
        return max(0.0, wait)

    def failed(self, address: str, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._failures.setdefault((address, name.lower()), []).append(now)
            self._account_failures.setdefault(name.lower(), []).append(now)
            if now >= self._next_prune or len(self._failures) + len(self._account_failures) > self.max_keys:
                self._prune(now)

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop((address, name.lower()), None)

    def __len__(self) -> int:
        return len(self._failures) + len(self._account_failures)

    def _prune(self, now: float) -> None:
        """Drop what the window has forgotten; past `max_keys`, the oldest first."""
        tables: tuple[dict[Any, list[float]], ...] = (self._failures, self._account_failures)
        for table in tables:
            for key in list(table):
                kept = [t for t in table[key] if now - t < self.window][
                    -max(self.attempts, self.account_attempts) * 4 :
                ]
                if kept:
                    table[key] = kept
                else:
                    del table[key]
            overflow = len(table) - self.max_keys // 2
            if overflow > 0:
                for key in sorted(table, key=lambda k: table[k][-1])[:overflow]:
                    del table[key]
        self._next_prune = now + 60.0


class DeviceCookie:
    """A signed, long-lived cookie naming the accounts this browser has logged in to,
    so the per-account slow-down never stands in the real user's way."""

    def __init__(self, secret: str) -> None:
        self._serializer = SignedSerializer(secret, salt="statusweb.device")

    def knows(self, request: Any, name: str) -> bool:
        return name.lower() in self._current(request)

    def remember(self, request: Any, response: Any, name: str, secure: bool) -> None:
        names = [name.lower()] + [n for n in self._current(request) if n != name.lower()][:4]
        response.set_cookie(
            DEVICE_COOKIE,
            self._serializer.dumps(names).decode("ascii"),
            max_age=DEVICE_LIFETIME,
            httponly=True,
            secure=secure,
            samesite="Lax",
            path="/admin",
        )

    def _current(self, request: Any) -> list[str]:
        raw = request.cookies.get(DEVICE_COOKIE)
        try:
            names = self._serializer.loads(raw.encode("ascii")) if raw else []
        except (ValueError, UnicodeError):
            return []
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


FRAMED_PATHS = frozenset({"/embed"})  # within a page: made to be framed by any site (views/embed.py)


def framed_headers(every: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`every` for a page made to be framed: any site may frame it, nothing else changes."""
    return [
        (name, value.replace("frame-ancestors 'none'", "frame-ancestors *"))
        for name, value in every
        if name != "X-Frame-Options"
    ]


def headers_for(registry: Any, path_info: str) -> list[tuple[str, str]]:
    """The security headers of a response to `path_info` (within its page)."""
    return registry["statusweb.framed_headers" if path_info in FRAMED_PATHS else "statusweb.security_headers"]


def security_headers(settings: Any) -> list[tuple[str, str]]:
    """The headers every response carries (the page cache's shortcut sends them too)."""
    headers = [
        ("Content-Security-Policy", content_security_policy(settings.logo_url)),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ]
    if settings.hsts:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def includeme(config: Configurator) -> None:
    settings = config.registry["statusweb.settings"]
    secret = settings.secret
    if not secret:  # only without secure cookies: Settings refuses to start otherwise
        secret = secrets.token_hex(32)
        log.warning("no STATUSWEB_SECRET: sessions use a random secret and end when the process does")
    config.set_session_factory(
        SignedCookieSessionFactory(
            secret,
            cookie_name="statusweb_session",
            httponly=True,
            samesite="Lax",
            secure=settings.secure_cookies,
            max_age=SESSION_LIFETIME,
            timeout=SESSION_LIFETIME,
            reissue_time=600,
        )
    )
    config.set_security_policy(SecurityPolicy())
    config.set_default_csrf_options(require_csrf=True)
    config.registry["statusweb.login_limiter"] = LoginLimiter(
        attempts=settings.login_attempts, window=settings.login_window_seconds
    )
    config.registry["statusweb.device_cookie"] = DeviceCookie(secret)
    config.registry["statusweb.security_headers"] = security_headers(settings)
    config.registry["statusweb.framed_headers"] = framed_headers(config.registry["statusweb.security_headers"])

    def add_headers(event: Any) -> None:
        headers = event.response.headers
        for name, value in headers_for(event.request.registry, event.request.path_info):
            headers.setdefault(name, value)
        if event.request.path.startswith(("/admin", "/api/v1")):
            headers["Cache-Control"] = "no-store"  # never kept by a browser, a proxy or a CDN

    config.add_subscriber(add_headers, NewResponse)
