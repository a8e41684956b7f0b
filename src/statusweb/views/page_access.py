"""`/pages/{slug}/access`: a private page's viewer password, for sharing it with a partner
who has no account. The form looks and answers the same whether or not the page exists
(and costs the same argon2 work), so it reveals no private page; attempts are limited
like logins."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from statusweb.edge.page_mount import MISSING, PAGE, VIEWER_PAGES, page_of
from statusweb.models.user import verify_without_user
from statusweb.views.auth import MAX_PASSWORD_CHARS

WRONG = "That password does not open this page."
_TEMPLATE = "statusweb:templates/page_access.pt"


def _unnamed(request: Request) -> None:
    """Render as the default page would: the form must not name the private page."""
    request.environ[PAGE] = request.registry["statusweb.pages"].default()


@view_config(route_name="page_access", request_method=("GET", "HEAD"), renderer=_TEMPLATE)
def access_form(request: Request) -> Any:
    page = page_of(request)
    if not page.private and not request.environ.get(MISSING):
        return HTTPSeeOther(request.route_url("status"))  # nothing to open
    _unnamed(request)
    return {"title": "Private page", "error": None}


@view_config(route_name="page_access", request_method="POST", renderer=_TEMPLATE)
def access(request: Request) -> Any:
    page = page_of(request)
    _unnamed(request)
    password = request.POST.get("password", "")[:MAX_PASSWORD_CHARS]
    limiter = request.registry["statusweb.login_limiter"]
    address, account = request.client_addr or "?", f"page:{request.environ.get('statusweb.mount', '')}"
    wait = limiter.wait_seconds(address, account)
    if wait > 0:
        request.response.status_int = 429
        request.response.headers["Retry-After"] = str(int(wait) + 1)
        return {"title": "Private page", "error": "Too many attempts; try again later."}
    real = page.private and page.viewer_password_hash and not request.environ.get(MISSING)
    if not (_verify(page.viewer_password_hash, password) if real else verify_without_user(password)):
        limiter.failed(address, account)
        request.response.status_int = 400
        return {"title": "Private page", "error": WRONG}
    limiter.succeeded(address, account)
    opened = [i for i in request.session.get(VIEWER_PAGES) or () if isinstance(i, int)][-20:]
    request.session[VIEWER_PAGES] = [*opened, page.id]
    return HTTPSeeOther(request.route_url("status"))


def _verify(hashed: str | None, password: str) -> bool:
    try:
        return bool(hashed) and PasswordHasher().verify(hashed or "", password)
    except (VerificationError, InvalidHashError):
        return False
