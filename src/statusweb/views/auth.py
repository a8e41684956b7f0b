"""Logging in and out of the admin."""

from __future__ import annotations

import re
from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
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


LOGIN_TEMPLATE = "statusweb:templates/admin/login.pt"


def _form(request: Request, error: str | None = None, name: str = "") -> dict[str, Any]:
    oidc = request.settings.oidc
    return {
        "title": "Log in",
        "name": name,
        "error": error,
        "next": safe_next(request),
        "oidc_label": oidc.label if oidc is not None else "",
        "password_login": request.settings.password_login,
    }


def login_page(request: Request, error: str, status: int) -> Response:
    """The login page saying what went wrong (a sign-in elsewhere that did not work)."""
    response = render_to_response(LOGIN_TEMPLATE, _form(request, error), request=request)
    response.status_int = status
    return response


@view_config(route_name="login", renderer=LOGIN_TEMPLATE, request_method="GET")
def login_form(request: Request) -> dict[str, Any]:
    expired = "Your code came too late; log in again." if request.params.get("expired") else None
    return _form(request, expired)


@view_config(route_name="login", renderer=LOGIN_TEMPLATE, request_method="POST")
def login(request: Request) -> Any:
    name = request.POST.get("name", "").strip()[:100]
    if not request.settings.password_login:
        request.response.status_int = 400
        return _form(request, "Passwords do not sign in here; use the button below.")
    password = request.POST.get("password", "")[:MAX_PASSWORD_CHARS]
    limiter = request.registry["statusweb.login_limiter"]
    device = request.registry["statusweb.device_cookie"]
    address = request.client_addr or "?"
    refused = too_many_attempts(request, limiter, address, name, known_device=device.knows(request, name))
    if refused:
        return _form(request, refused, name)
    known = name and storable(name)
    user = request.dbsession.scalar(select(User).where(User.name == name)) if known else None
    # The same argon2 work whether or not the name exists, and for a disabled account:
    # the answer's timing tells nobody which accounts there are.
    valid = user.check_password(password) if user is not None else verify_without_user(password)
    if not valid or user is None or user.disabled:
        limiter.failed(address, name)
        request.response.status_int = 400
        return _form(request, GENERIC_FAILURE, name)
    if second_factor.enrolled(user):  # the limiter stays as it is until the code is right too
        return start_code_step(request, user, safe_next(request))
    limiter.succeeded(address, name)
    headers = remember(request, user.id)
    response = HTTPSeeOther(location=safe_next(request), headers=headers)
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


def safe_next(request: Request) -> str:
    """Where to go after logging in: only an admin path on this site, in plain ASCII
    (no other host, no CR/LF to split headers with), else the dashboard."""
    target = request.params.get("next", "")
    if len(target) <= 500 and _SAFE_PATH.fullmatch(target) and "//" not in target:
        return target
    return request.route_url("admin")
