"""The page's public identity (name, id, URL), from settings and its page, read in one place."""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.request import Request

from statusweb.edge.page_mount import page_of


@dataclass(frozen=True)
class PageIdentity:
    id: str
    name: str
    url: str


def page_identity(request: Request) -> PageIdentity:
    """Name, id and public URL (STATUS_PAGE_URL: never the request's Host) of the page the
    request is for; another page than the default one is at its /pages/{slug}/ or domain."""
    settings = request.settings
    page = page_of(request)
    if page.is_default:
        return PageIdentity(id=settings.page_id, name=page.name, url=settings.page_url)
    return PageIdentity(id=f"{settings.page_id}-{page.slug}", name=page.name, url=request.route_url("status"))
