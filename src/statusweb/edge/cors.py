"""CORS for the public read-only routes, so widgets on other sites can embed them."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.events import NewResponse

PUBLIC_PREFIXES = ("/api/v2/", "/badge/", "/history.atom", "/history.rss")


def cors_headers(method: str, path_info: str) -> list[tuple[str, str]]:
    """What a public read answers with (the page cache's shortcut sends the same); the
    path within its page, so /pages/{slug}/api/v2/... is open to widgets too."""
    if method in ("GET", "HEAD") and path_info.startswith(PUBLIC_PREFIXES):
        return [("Access-Control-Allow-Origin", "*")]
    return []


def includeme(config: Configurator) -> None:
    def allow_any_origin(event: Any) -> None:
        for name, value in cors_headers(event.request.method, event.request.path_info):
            event.response.headers[name] = value

    config.add_subscriber(allow_any_origin, NewResponse)
