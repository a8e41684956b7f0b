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
    config.add_route("login", "/admin/login")
    config.add_route("logout", "/admin/logout")
    config.add_route("admin", "/admin")
    config.add_route("admin_incidents", "/admin/incidents")
    config.add_route("admin_incident_new", "/admin/incidents/new")
    config.add_route("admin_incidents_resolve", "/admin/incidents/resolve")
    config.add_route("admin_incident", "/admin/incidents/{id:\\d+}")
    config.add_route("admin_incident_update", "/admin/incidents/{id:\\d+}/updates")
    config.add_route("admin_checks", "/admin/checks")
    config.add_route("admin_users", "/admin/users")
