"""The page's public identity (name, id, URL), from settings, read in one place."""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.request import Request


@dataclass(frozen=True)
class PageIdentity:
    id: str
    name: str
    url: str


def page_identity(request: Request) -> PageIdentity:
    """Name, id and public URL (STATUS_PAGE_URL: never the request's Host)."""
    settings = request.registry["statusweb.settings"]
    return PageIdentity(id=settings.page_id, name=settings.page_name, url=settings.page_url)
