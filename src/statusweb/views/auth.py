"""Logging in and out of the admin."""

from __future__ import annotations

import re
from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.request import Request
from pyramid.security import forget, remember
from pyramid.view import forbidden_view_config, view_config
from sqlalchemy import select

from statusweb.models import User
from statusweb.models.user import verify_without_user
from statusweb.services import second_factor
from statusweb.services.params import storable
from statusweb.services.security import must_enrol, too_many_attempts
from statusweb.views.two_factor import start_code_step

GENERIC_FAILURE = "Wrong name or password."
MAX_PASSWORD_CHARS = 1000
_SAFE_PATH = re.compile(r"/admin(/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%&=+-]*)?")


@view_config(route_name="login", renderer="statusweb:templates/admin/login.pt", request_method="GET")
def login_form(request: Request) -> dict[str, Any]:
    expired = "Your code came too late; log in again." if request.params.get("expired") else None
    return {"title": "Log in", "name": "", "error": expired, "next": _safe_next(request)}


@view_config(route_name="login", renderer="statusweb:templates/admin/login.pt", request_method="POST")
def login(request: Request) -> Any:
    name = request.POST.get("name", "").strip()[:100]
    password = request.POST.get("password", "")[:MAX_PASSWORD_CHARS]
    limiter = request.registry["statusweb.login_limiter"]
    device = request.registry["statusweb.device_cookie"]
    address = request.client_addr or "?"
    refused = too_many_attempts(request, limiter, address, name, known_device=device.knows(request, name))
    if refused:
        return {"title": "Log in", "name": name, "next": _safe_next(request), "error": refused}
    known = name and storable(name)
    user = request.dbsession.scalar(select(User).where(User.name == name)) if known else None
    # The same argon2 work whether or not the name exists, and for a disabled account:
    # the answer's timing tells nobody which accounts there are.
    valid = user.check_password(password) if user is not None else verify_without_user(password)
    if not valid or user is None or user.disabled:
        limiter.failed(address, name)
        request.response.status_int = 400
        return {"title": "Log in", "name": name, "error": GENERIC_FAILURE, "next": _safe_next(request)}
    if second_factor.enrolled(user):  # the limiter stays as it is until the code is right too
        return start_code_step(request, user, _safe_next(request))
    limiter.succeeded(address, name)
    headers = remember(request, user.id)
    response = HTTPSeeOther(location=_safe_next(request), headers=headers)
    device.remember(request, response, name, request.settings.secure_cookies)
    return response


@view_config(route_name="logout", request_method="POST")
def logout(request: Request) -> HTTPSeeOther:
    """Ends this session and every copy of it: a cookie saved before logging out no
    longer opens the admin (its row is ended). The user's other browsers stay in; the
    sessions page ends those."""
    return HTTPSeeOther(location=request.route_url("status"), headers=forget(request))


@forbidden_view_config(renderer="statusweb:templates/admin/forbidden.pt")
def forbidden(exc: HTTPForbidden, request: Request) -> Any:
    if request.identity is None:
        return HTTPSeeOther(location=request.route_url("login", _query={"next": request.path_qs}))
    if must_enrol(request):
        return HTTPSeeOther(location=request.route_url("admin_2fa"))
    request.response.status_int = 403
    return {"title": "Not allowed", "message": "Your role does not allow this."}


def _safe_next(request: Request) -> str:
    """Where to go after logging in: only an admin path on this site, in plain ASCII
    (no other host, no CR/LF to split headers with), else the dashboard."""
    target = request.params.get("next", "")
    if len(target) <= 500 and _SAFE_PATH.fullmatch(target) and "//" not in target:
        return target
    return request.route_url("admin")
