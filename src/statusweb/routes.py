"""Every route in one place."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "statusweb:static", cache_max_age=3600)
    config.add_route("status", "/")
    config.add_route("history", "/history")
    config.add_route("incident", "/incidents/{id:\\d+}")
    config.add_route("service", "/services/{slug}")
    config.add_route("healthz", "/healthz")
