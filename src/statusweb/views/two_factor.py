"""The second factor in the browser: the code step of a login, enrolling (QR code, a
confirming code, ten recovery codes shown once), new recovery codes, turning it off,
and an organization's owners requiring it of every member.

Between the password and the code, the session holds only who is half signed in and
since when (five minutes at most), never a signed-in user: nothing of the admin opens
until the code is right. Wrong codes count against the same login limiter as wrong
passwords, and a right password does not clear it while a code is still to come."""

from __future__ import annotations

import time
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.security import remember
from pyramid.view import view_config
from sqlalchemy import select

from statusweb.models import Organization, User
from statusweb.services import second_factor, sign_ins
from statusweb.services.audit import record
from statusweb.services.params import record_id
from statusweb.services.security import current_sign_in, organizations_for, too_many_attempts

PENDING = "pending_2fa"
PENDING_SECONDS = 300
MAX_CODE_CHARS = 40
WRONG_CODE = "That code is not right (or was used already). Try the next one your app shows."


def start_code_step(request: Request, user: User, next_url: str) -> HTTPSeeOther:
    """After a right password for a user with a second factor: ask for the code."""
    request.session.invalidate()
    request.session[PENDING] = {
        "user": user.id,
        "generation": user.session_generation,
        "at": time.time(),
        "next": next_url,
    }
    return HTTPSeeOther(location=request.route_url("login_code"))


def _pending_user(request: Request) -> tuple[User, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None
    age = time.time() - float(pending.get("at", 0))
    user = request.dbsession.get(User, pending["user"])
    if (
        not 0 <= age <= PENDING_SECONDS
        or user is None
        or user.disabled
        or user.session_generation != pending.get("generation")
        or not second_factor.enrolled(user)
    ):
        return None
    return user, pending


def _code_form(request: Request, error: str | None = None, status: int = 200) -> dict[str, Any]:
    request.response.status_int = status
    return {"title": "Your code", "error": error}


@view_config(route_name="login_code", renderer="statusweb:templates/admin/login_code.pt", request_method="GET")
def code_form(request: Request) -> Any:
    if _pending_user(request) is None:
        return HTTPSeeOther(location=request.route_url("login"))
    return _code_form(request)


@view_config(route_name="login_code", renderer="statusweb:templates/admin/login_code.pt", request_method="POST")
def code_given(request: Request) -> Any:
    found = _pending_user(request)
    if found is None:  # too late, or never half signed in: the password again
        return HTTPSeeOther(location=request.route_url("login", _query={"expired": 1}))
    user, pending = found
    limiter = request.registry["statusweb.login_limiter"]
    address = request.client_addr or "?"
    refused = too_many_attempts(request, limiter, address, user.name)
    if refused:
        return _code_form(request, refused, 429)
    code = request.POST.get("code", "")[:MAX_CODE_CHARS]
    if not second_factor.accept(request.dbsession, user, code):
        limiter.failed(address, user.name)
        return _code_form(request, WRONG_CODE, 400)
    limiter.succeeded(address, user.name)
    remember(request, user.id)
    response = HTTPSeeOther(location=str(pending.get("next") or request.route_url("admin")))
    request.registry["statusweb.device_cookie"].remember(request, response, user.name, request.settings.secure_cookies)
    return response


def _signed_in(request: Request) -> User:
    """The page is for a signed-in user, whatever their role (a member who must enrol
    first reaches nothing else)."""
    if request.identity is None:
        raise HTTPSeeOther(location=request.route_url("login", _query={"next": request.path}))
    user: User = request.identity
    return user


def _settings(request: Request, user: User, **extra: Any) -> dict[str, Any]:
    session = request.dbsession
    pending = user.totp_secret is not None and user.totp_enabled_at is None
    uri = second_factor.enrolment_uri(user, request.domain or second_factor.ISSUER) if pending else ""
    return {
        "title": "Two-factor sign-in",
        "user": user,
        "enrolled": second_factor.enrolled(user),
        "pending": pending,
        "qr_svg": second_factor.qr_svg(uri) if pending else "",
        "secret": " ".join((user.totp_secret or "")[i : i + 4] for i in range(0, len(user.totp_secret or ""), 4)),
        "required": second_factor.required_for(session, user),
        "codes_left": second_factor.recovery_codes_left(session, user),
        "recovery_codes": None,
        "error": None,
        "notice": None,
        **extra,
    }


@view_config(route_name="admin_2fa", renderer="statusweb:templates/admin/two_factor.pt", request_method="GET")
def settings_page(request: Request) -> dict[str, Any]:
    return _settings(request, _signed_in(request))


@view_config(route_name="admin_2fa", renderer="statusweb:templates/admin/two_factor.pt", request_method="POST")
def settings_change(request: Request) -> Any:
    user = _signed_in(request)
    action = request.POST.get("action", "")
    code = request.POST.get("code", "")[:MAX_CODE_CHARS]
    session = request.dbsession
    if action == "start" and not second_factor.enrolled(user):
        second_factor.start_enrolment(user)
        return _settings(request, user)
    if action == "cancel" and not second_factor.enrolled(user):
        second_factor.reset(session, user)
        return HTTPSeeOther(location=request.route_url("admin_2fa"))
    if action == "confirm" and user.totp_secret and not second_factor.enrolled(user):
        codes = second_factor.confirm_enrolment(session, user, code)
        if codes is None:
            return _refuse(request, user, WRONG_CODE)
        this = current_sign_in(request)
        sign_ins.end(session, user.id, keep=this.id if this is not None else None)  # others sign in again
        record(request, None, "user.2fa_on", user.name)
        return _settings(request, user, recovery_codes=codes, notice="Two-factor sign-in is on.")
    if action == "recovery" and second_factor.enrolled(user):
        if not second_factor.accept_totp(session, user, code):
            return _refuse(request, user, WRONG_CODE)
        codes = second_factor.new_recovery_codes(session, user)
        return _settings(request, user, recovery_codes=codes, notice="New recovery codes; the old ones no longer work.")
    if action == "off" and second_factor.enrolled(user):
        if second_factor.required_for(session, user):
            return _refuse(request, user, "An organization of yours requires two-factor sign-in; it stays on.")
        if not user.check_password(request.POST.get("password", "")[:1000]):
            return _refuse(request, user, "That is not your password; two-factor sign-in stays on.")
        second_factor.reset(session, user)  # ends every session, this one too
        record(request, None, "user.2fa_off", user.name)
        return HTTPSeeOther(location=request.route_url("login"))
    return _refuse(request, user, "That cannot be done now; the page shows what can.")


def _refuse(request: Request, user: User, message: str) -> dict[str, Any]:
    request.response.status_int = 400
    return _settings(request, user, error=message)


@view_config(route_name="admin_organization_2fa", request_method="POST", permission="manage_users")
def organization_requirement(request: Request) -> HTTPSeeOther:
    """An owner requires (or stops requiring) a second factor of their organization."""
    wanted = record_id(request.matchdict["id"], "organization")
    if wanted not in organizations_for(request, "manage_users"):
        raise HTTPNotFound("no such organization")  # another's, or none: alike
    organization = request.dbsession.scalar(select(Organization).where(Organization.id == wanted))
    if organization is None:
        raise HTTPNotFound("no such organization")
    organization.require_2fa = request.POST.get("require") == "on"
    word = "requires" if organization.require_2fa else "no longer requires"
    record(request, organization.id, "organization.2fa", f"{organization.name} {word} two-factor sign-in")
    if organization.require_2fa and not second_factor.enrolled(request.identity):
        return HTTPSeeOther(location=request.route_url("admin_2fa"))
    return HTTPSeeOther(location=request.route_url("admin_users"))
