"""Rate limits on the public pages and APIs: per client address and page, and per page
from everyone, answering 429 with Retry-After. In process (token buckets behind a lock,
correct with waitress's threads; no Redis): with several processes behind a balancer,
each keeps its own count, so the limit a client meets is per process.

Counted before the page cache, so a flood of cached hits is limited too; open pages'
live polls answered with 304 before Pyramid (api/live.py) are not counted (they are
what an open page is for, and cost next to nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.config import Configurator
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.response import Response

from statusweb.api.responses import json_error
from statusweb.edge.page_mount import page_of
from statusweb.edge.rate_limit import TokenBuckets
from statusweb.routes import page_routes


class PublicLimits:
    """Both limits; `wait` spends one request of a client on a page."""

    def __init__(self, per_client: int, per_page: int) -> None:
        self.per_client = TokenBuckets(per_client) if per_client else None
        self.per_page = TokenBuckets(per_page) if per_page else None

    def wait(self, client: str, page: str) -> float:
        """0.0 when the request may go on, else the seconds until it may."""
        wait = self.per_client.take(f"{client}|{page}") if self.per_client else 0.0
        if not wait and self.per_page:
            wait = self.per_page.take(page)
        return wait


def public_limits_tween_factory(handler: Callable[[Request], Response], registry: Any) -> Callable[[Request], Response]:
    limits: PublicLimits = registry["statusweb.edge.public_limits"]
    mapper = registry.getUtility(IRoutesMapper)
    on_pages = page_routes(registry)

    def limited(request: Request) -> Response:
        route = mapper(request)["route"]
        if route is None or route.name not in on_pages or not on_pages[route.name].rate_limited:
            return handler(request)
        wait = limits.wait(request.client_addr or "?", page_of(request).slug)
        return too_many(request.path_info, wait) if wait else handler(request)

    return limited


def too_many(path: str, wait: float) -> Response:
    message = f"Too many requests: try again in {int(wait) + 1} s."
    if path.startswith(("/api/", "/badge/")):
        response = json_error(429, message)
    else:
        response = Response(message + "\n", status=429, content_type="text/plain", charset="utf-8")
    response.headers["Retry-After"] = str(int(wait) + 1)
    response.cache_control = "no-store"
    return response


def includeme(config: Configurator) -> None:
    settings = config.registry["statusweb.settings"]
    config.registry["statusweb.edge.public_limits"] = PublicLimits(settings.rate_per_client, settings.rate_per_page)
    config.add_tween(
        "statusweb.edge.public_limits.public_limits_tween_factory",
        under="statusweb.edge.public_url.public_url_tween_factory",
        over="statusweb.edge.page_cache.cache_tween_factory",
    )
