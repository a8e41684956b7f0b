"""CORS for the public read-only routes, so widgets on other sites can embed them."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.events import NewResponse

PUBLIC_PREFIXES = ("/api/v2/", "/badge/", "/history.atom", "/history.rss")


def includeme(config: Configurator) -> None:
    def allow_any_origin(event: Any) -> None:
        if event.request.method in ("GET", "HEAD") and event.request.path.startswith(PUBLIC_PREFIXES):
            event.response.headers["Access-Control-Allow-Origin"] = "*"

    config.add_subscriber(allow_any_origin, NewResponse)
