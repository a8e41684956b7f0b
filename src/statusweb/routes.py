"""Every route in one place."""

from __future__ import annotations

from pyramid.config import Configurator

READ_METHODS = ("GET", "HEAD")  # public pages and APIs; anything else is a 405


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "statusweb:static", cache_max_age=3600)
    config.add_route("status", "/")
    config.add_route("history", "/history")
    config.add_route("incident", "/incidents/{id:[0-9]+}")
    config.add_route("service", "/services/{slug}")
    config.add_route("healthz", "/healthz")
    config.add_route("api_summary", "/api/v2/summary.json")
    config.add_route("api_status", "/api/v2/status.json")
    config.add_route("api_components", "/api/v2/components.json")
    config.add_route("api_incidents", "/api/v2/incidents.json")
    config.add_route("api_unresolved", "/api/v2/incidents/unresolved.json")
    config.add_route("api_maintenances", "/api/v2/scheduled-maintenances.json")
    config.add_route("api_openapi", "/api/v2/openapi.json")
    config.add_route("feed_atom", "/history.atom")
    config.add_route("feed_rss", "/history.rss")
    config.add_route("badge_status", "/badge/{slug}/status.svg")
    config.add_route("badge_uptime", "/badge/{slug}/uptime.svg")
    config.add_route("badge_latency", "/badge/{slug}/latency.svg")
    config.add_route("metrics", "/metrics")
    config.add_route("login", "/admin/login")
    config.add_route("logout", "/admin/logout")
    config.add_route("admin", "/admin")
    config.add_route("admin_incidents", "/admin/incidents")
    config.add_route("admin_incident_new", "/admin/incidents/new")
    config.add_route("admin_incidents_resolve", "/admin/incidents/resolve")
    config.add_route("admin_incident", "/admin/incidents/{id:[0-9]+}")
    config.add_route("admin_incident_update", "/admin/incidents/{id:[0-9]+}/updates")
    config.add_route("admin_incident_delete", "/admin/incidents/{id:[0-9]+}/delete")
    config.add_route("admin_checks", "/admin/checks")
    config.add_route("admin_users", "/admin/users")
    config.add_route("admin_user_password", "/admin/users/{id:[0-9]+}/password")
    config.add_route("admin_user_disable", "/admin/users/{id:[0-9]+}/disable")
    config.add_route("admin_user_enable", "/admin/users/{id:[0-9]+}/enable")
