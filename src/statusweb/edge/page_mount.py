"""Which status page a request is for, and whether its sender may see it.

`PageMount` (WSGI, in front of everything) picks the page: a Host on the allow-list of
custom domains serves that page at `/`; `/pages/{slug}/...` serves page `slug` with all
of its routes (the prefix is kept in `statusweb.mount` and put back into SCRIPT_NAME by
the public-URL tween, so every link the page makes stays under it); anything else is the
default page. The `page_gate` tween then answers 404, never 403, when the page does not
exist, when the route is not a page's (the admin under /pages/x/), or when the page is
private and the sender is neither a member of its organization nor holds its viewer
password: a private page's existence is not revealed. It runs inside the transaction
(it reads the session and memberships); the page cache before it never serves a private
page, so nothing of one passes the gate unchecked. Finally the request's database
session is scoped to the page (pages/queries.py), so every query a view makes sees only
that page's services, incidents and maintenance; an admin request's session is scoped to
the pages of the signed-in user's organizations (for a POST, those where they may edit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pyramid.config import Configurator
from pyramid.events import BeforeRender
from pyramid.httpexceptions import HTTPNotFound
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import EXCVIEW
from sqlalchemy import select

from statusweb.models import DEFAULT_SLUG, Membership
from statusweb.pages.directory import PageDirectory, PageInfo
from statusweb.pages.queries import install_page_scoping, scope_to_organizations, scope_to_page
from statusweb.routes import admin_routes, page_routes
from statusweb.services.security import organizations_for

PAGE = "statusweb.page"  # environ: the PageInfo this request is for
MOUNT = "statusweb.mount"  # environ: "/pages/{slug}" when the page was chosen by its path
BY_DOMAIN = "statusweb.page_domain"  # environ: the custom domain that chose the page
MISSING = "statusweb.page_missing"  # environ: /pages/{slug}/ named no page
VIEWER_PAGES = "viewer_pages"  # session: ids of the private pages whose password was given


def host_of(url: str) -> str:
    """The host of `url` as a Host header is compared with: lower case, no final dot."""
    return (urlsplit(url).hostname or "").lower().rstrip(".")


def claims_install_host(domain: str, install_url: str) -> bool:
    """Whether a page's domain is the install's own host (STATUS_PAGE_URL's) or a parent
    of it: no organization may take the address the admin and the APIs live at."""
    install = host_of(install_url)
    domain = domain.lower().rstrip(".")
    return bool(domain) and (install == domain or install.endswith("." + domain))


_MOUNTED = re.compile(r"/pages/([^/]*)(/.*)?\Z", re.DOTALL)


class PageMount:
    """WSGI: chooses the page by Host (allow-list) or by `/pages/{slug}`."""

    def __init__(self, app: Any, directory: PageDirectory, install_url: str = "") -> None:
        self.app = app
        self.directory = directory
        self.registry = getattr(app, "registry", None)
        self.install_host = host_of(install_url)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        host = str(environ.get("HTTP_HOST", "")).split(":", 1)[0].lower().rstrip(".")
        # the install's own host is never a page's: its admin, /healthz, /api/push and /metrics always answer there
        page = self.directory.by_domain(host) if host and host != self.install_host else None
        if page is not None:
            environ[BY_DOMAIN] = host
        else:
            mounted = _MOUNTED.match(environ.get("PATH_INFO", ""))
            if mounted:
                page = self.directory.by_slug(mounted.group(1)) if mounted.group(1) != "default" else None
                environ[MOUNT] = f"/pages/{mounted.group(1)}"
                environ["PATH_INFO"] = mounted.group(2) or "/"
                if page is None:
                    environ[MISSING] = True
        environ[PAGE] = page or self.directory.default()
        return self.app(environ, start_response)


def page_of(request: Request) -> PageInfo:
    """The page this request is for (the default page outside a request through PageMount)."""
    page = request.environ.get(PAGE)
    if page is not None:
        return page
    registry = getattr(request, "registry", None)  # a bare Request (tests of the cache) has none
    return registry["statusweb.pages"].default() if registry is not None else PageInfo(None, DEFAULT_SLUG, "", None)


def chosen_page(request: Request) -> bool:
    """Whether the request named its page (by /pages/{slug}/ or by its domain)."""
    return MOUNT in request.environ or BY_DOMAIN in request.environ


def may_read(request: Request, page: PageInfo) -> bool:
    """Anyone may read a public page; a private one, members of its organization (any
    role) and those who gave its viewer password in this session."""
    if not page.private:
        return True
    if page.id is not None and page.id in (request.session.get(VIEWER_PAGES) or ()):
        return True
    user = request.identity
    if user is None or page.organization_id is None:
        return False
    return (
        request.dbsession.scalar(
            select(Membership.id).where(
                Membership.user_id == user.id, Membership.organization_id == page.organization_id
            )
        )
        is not None
    )


def page_gate_tween_factory(handler: Callable[[Request], Response], registry: Any) -> Callable[[Request], Response]:
    mapper = registry.getUtility(IRoutesMapper)
    on_pages, admin = page_routes(registry), admin_routes(registry)

    def only_readable_pages(request: Request) -> Response:
        page = page_of(request)
        route = mapper(request)["route"]
        if route is not None and route.name == "page_access":
            return handler(request)  # the same form for a private page and for none at all
        on_a_page = route is not None and route.name in on_pages
        if request.environ.get(MISSING) or (chosen_page(request) and not on_a_page):
            _not_there(request)
        if on_a_page:
            if not may_read(request, page) or (page.private and not on_pages[route.name].on_private_pages):
                _not_there(request)  # badges are for embedding elsewhere: never a private service's
            scope_to_page(request.dbsession, page)
        elif route is not None and route.name in admin and request.identity is not None:
            # reading: every organization the user is in; writing: those where they may edit
            permission = "view" if request.method in ("GET", "HEAD") else "edit"
            scope_to_organizations(request.dbsession, organizations_for(request, permission))
        response = handler(request)
        if page.private and on_a_page:
            response.headers["Cache-Control"] = "private, no-cache"  # never kept by a shared proxy
        return response

    return only_readable_pages


def add_page_name(event: BeforeRender) -> None:
    """The page's name, and its own stylesheet's address (None when it has none)."""
    request = event.get("request")
    if request is not None:
        page = page_of(request)
        event.setdefault("page_name", page.name)
        version = page.stylesheet_version
        event.setdefault("page_stylesheet", request.route_path("page_css", _query={"v": version}) if version else None)


def _not_there(request: Request) -> None:
    """404 exactly as for a page that does not exist: the default page's 404, its links
    on the main site, so nothing in the answer tells a private page from no page."""
    environ = request.environ
    environ[PAGE] = request.registry["statusweb.pages"].default()
    mount = environ.get(MOUNT, "")
    if mount and environ.get("SCRIPT_NAME", "").endswith(mount):
        environ["SCRIPT_NAME"] = environ["SCRIPT_NAME"][: -len(mount)]
    raise HTTPNotFound("no such page")


def includeme(config: Configurator) -> None:
    install_page_scoping(config.registry["dbsession_factory"])
    settings = config.registry["statusweb.settings"]
    config.registry["statusweb.pages"] = PageDirectory(config.registry["statusweb.engine"], settings.page_name)
    config.add_subscriber(add_page_name, BeforeRender)
    # under the exception view (its 404 is our 404 page) and so inside pyramid_tm's transaction
    config.add_tween("statusweb.edge.page_mount.page_gate_tween_factory", under=EXCVIEW)
