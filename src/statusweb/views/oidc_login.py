"""Sign in through the OpenID Connect provider: off to it with a fresh state, nonce and
PKCE verifier kept in the session, and back with a code that becomes a verified ID token
and a user (services/oidc.py). A user with a second factor still gives its code."""

from __future__ import annotations

import time
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import remember
from pyramid.view import view_config

from statuscore import utcnow
from statusweb.services import second_factor
from statusweb.services.oidc import OidcError, Pending, Provider, user_for
from statusweb.views.auth import login_page, safe_next
from statusweb.views.two_factor import start_code_step

PENDING = "oidc"
PENDING_SECONDS = 600  # time to sign in at the provider


def _provider(request: Request) -> Provider:
    settings = request.settings.oidc
    if settings is None:
        raise HTTPNotFound("single sign-on is not set up")
    registry = request.registry
    found = registry.get("statusweb.oidc_provider")
    if found is None or found.settings is not settings:
        found = registry["statusweb.oidc_provider"] = Provider(settings)
    return found


def _refused(request: Request, message: str, status: int = 400) -> Response:
    return login_page(request, message, status)


@view_config(route_name="login_oidc", request_method="GET")
def go_to_provider(request: Request) -> Any:
    provider = _provider(request)
    try:
        url, pending = provider.begin(request.route_url("login_oidc_callback"), safe_next(request))
    except OidcError as exc:
        return _refused(request, str(exc), exc.status)
    request.session[PENDING] = pending.as_dict()
    return HTTPSeeOther(location=url)


@view_config(route_name="login_oidc_callback", request_method="GET")
def back_from_provider(request: Request) -> Any:
    provider = _provider(request)
    kept = request.session.pop(PENDING, None)
    if not isinstance(kept, dict) or not 0 <= time.time() - float(kept.get("at", 0)) <= PENDING_SECONDS:
        return _refused(request, "This sign-in took too long or did not start here; start again.")
    pending = Pending(**{key: kept.get(key, "") for key in ("state", "nonce", "verifier", "next")}, at=kept["at"])
    if request.params.get("state") != pending.state:
        return _refused(request, "This sign-in did not start in this browser; start again.")
    if "error" in request.params:  # the person said no at the provider, or it refused
        return _refused(request, "The sign-in provider did not sign you in; start again if you meant to.")
    try:
        claims = provider.finish(request.route_url("login_oidc_callback"), request.url, pending)
        user = user_for(request.dbsession, provider.settings, claims, utcnow())
    except OidcError as exc:
        return _refused(request, str(exc), exc.status)
    request.dbsession.flush()
    next_url = pending.next or request.route_url("admin")
    if second_factor.enrolled(user):
        return start_code_step(request, user, next_url)
    remember(request, user.id)
    response = HTTPSeeOther(location=next_url)
    request.registry["statusweb.device_cookie"].remember(request, response, user.name, request.settings.secure_cookies)
    return response
