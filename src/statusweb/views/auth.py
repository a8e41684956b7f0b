"""Logging in and out of the admin."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.request import Request
from pyramid.security import forget, remember
from pyramid.view import forbidden_view_config, view_config
from sqlalchemy import select

from ..models import User

GENERIC_FAILURE = "Wrong name or password."


@view_config(route_name="login", renderer="statusweb:templates/admin/login.pt", request_method="GET")
def login_form(request: Request) -> dict[str, Any]:
    return {"title": "Log in", "name": "", "error": None, "next": _safe_next(request)}


@view_config(route_name="login", renderer="statusweb:templates/admin/login.pt", request_method="POST")
def login(request: Request) -> Any:
    name = request.POST.get("name", "").strip()[:100]
    password = request.POST.get("password", "")
    limiter = request.registry["statusweb.login_limiter"]
    address = request.client_addr or "?"
    wait = limiter.wait_seconds(address, name)
    if wait > 0:
        request.response.status_int = 429
        return {"title": "Log in", "name": name, "next": _safe_next(request),
                "error": f"Too many failed attempts; try again in {int(wait // 60) + 1} minutes."}
    user = request.dbsession.scalar(select(User).where(User.name == name))
    if user is None or not user.check_password(password):
        limiter.failed(address, name)
        request.response.status_int = 400
        return {"title": "Log in", "name": name, "error": GENERIC_FAILURE, "next": _safe_next(request)}
    limiter.succeeded(address, name)
    headers = remember(request, user.id)
    return HTTPSeeOther(location=_safe_next(request), headers=headers)


@view_config(route_name="logout", request_method="POST")
def logout(request: Request) -> HTTPSeeOther:
    return HTTPSeeOther(location=request.route_url("status"), headers=forget(request))


@forbidden_view_config(renderer="statusweb:templates/admin/forbidden.pt")
def forbidden(exc: HTTPForbidden, request: Request) -> Any:
    if request.identity is None:
        return HTTPSeeOther(location=request.route_url("login", _query={"next": request.path_qs}))
    request.response.status_int = 403
    return {"title": "Not allowed", "message": "Your role does not allow this."}


def _safe_next(request: Request) -> str:
    """Where to go after logging in: only a path on this site, never another host."""
    target = request.params.get("next", "")
    if target.startswith("/admin") and not target.startswith("//"):
        return target
    return request.route_url("admin")
