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
    settings = request.registry.settings
    url = settings.get("statusweb.page_url") or request.application_url
    return PageIdentity(id=settings.get("statusweb.page_id", "statusweb"),
                        name=settings.get("statusweb.page_name", "Status"), url=url)
