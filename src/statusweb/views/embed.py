"""Embeds: the page's status on another site. `/embed` is a small page made to be framed
(the one route whose Content-Security-Policy lets any site frame it: services/security.py),
readable with no JavaScript; `/embed.js` draws the same line into the page that loads it,
from `/api/v2/status.json` or `components.json` (CORS-open). Both take `?component=<slug>`
for one service, and both are cached like the page (the script for an hour)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from statuscore import utcnow
from statusweb.edge.page_cache import cached
from statusweb.pages.page_model import build_status_page
from statusweb.routes import READ_METHODS
from statusweb.services.params import slug

# a service's status as the banner's colour
BANNER_OF = {
    "operational": "operational",
    "degraded_performance": "degraded",
    "partial_outage": "partial",
    "major_outage": "major",
    "under_maintenance": "maintenance",
    "unknown": "unknown",
}


def embed_component(raw: str | None) -> str:
    """`?component=<slug>`: one service ("" = the whole page); a bad slug is a 404."""
    return "" if raw is None or raw == "" else slug(raw)


@view_config(
    route_name="embed",
    request_method=READ_METHODS,
    renderer="statusweb:templates/embed.pt",
    decorator=cached({"component": embed_component}),
)
def embed(request: Request) -> dict[str, Any]:
    """The banner, or one service's status, as a line with a link to the page."""
    page = build_status_page(request.dbsession, utcnow(), with_bars=False)
    wanted = embed_component(request.GET.get("component"))
    if wanted:
        row = next((row for row in page.services if row.slug == wanted), None)
        if row is None:
            raise HTTPNotFound("no such service")
        return {"title": row.name, "level": BANNER_OF[row.status], "text": row.label, "name": row.name}
    return {"title": page.banner.text, "level": page.banner.key, "text": page.banner.text, "name": ""}


@view_config(route_name="embed_js", request_method=READ_METHODS)
def embed_js(request: Request) -> Response:
    response = Response(_script(), content_type="text/javascript", charset="utf-8")
    response.cache_control = "public, max-age=3600"
    return response


def _script() -> str:
    return files("statusweb").joinpath("static/embed.js").read_text(encoding="utf-8")
