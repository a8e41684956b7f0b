"""Every route in one place, each declared for what it is: a page route (what every
status page has, at `/` for the default page, under `/pages/{slug}/` and at `/` of a
page's own domain), an admin route (the signed-in side, scoped to the user's
organizations), or, with plain `add_route`, the install's own (/healthz, /metrics,
pushes, /api/v1, signing in), at its main address only. edge/page_mount.py and
edge/public_limits.py decide by these declarations, never by a route's name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyramid.config import Configurator

READ_METHODS = ("GET", "HEAD")  # public pages and APIs; anything else is a 405
PAGE_ROUTES_KEY = "statusweb.page_routes"
ADMIN_ROUTES_KEY = "statusweb.admin_routes"


@dataclass(frozen=True)
class PageRoute:
    """How the edge treats a route every status page has."""

    rate_limited: bool = True  # counted against the public limits (not the stylesheet, the static files)
    on_private_pages: bool = True  # False: never answered for a private page (badges are for other sites)


def add_page_route(
    config: Configurator,
    name: str,
    pattern: str | None = None,
    *,
    rate_limited: bool = True,
    on_private_pages: bool = True,
) -> None:
    """A route of every status page (`pattern` None: a route made elsewhere, the static view's)."""
    if pattern is not None:
        config.add_route(name, pattern)
    config.registry.setdefault(PAGE_ROUTES_KEY, {})[name] = PageRoute(rate_limited, on_private_pages)


def add_admin_route(config: Configurator, name: str, pattern: str) -> None:
    """A route of the signed-in side: its queries see the user's organizations only."""
    config.add_route(name, pattern)
    config.registry.setdefault(ADMIN_ROUTES_KEY, set()).add(name)


def page_routes(registry: Any) -> Mapping[str, PageRoute]:
    return registry.get(PAGE_ROUTES_KEY, {})


def admin_routes(registry: Any) -> frozenset[str]:
    return frozenset(registry.get(ADMIN_ROUTES_KEY, ()))


def includeme(config: Configurator) -> None:
    config.add_directive("add_page_route", add_page_route)
    config.add_directive("add_admin_route", add_admin_route)
    config.add_static_view("static", "statusweb:static", cache_max_age=3600)
    config.add_page_route("__static/", rate_limited=False)
    config.add_page_route("status", "/")
    config.add_page_route("history", "/history")
    config.add_page_route("incident", "/incidents/{id:[0-9]+}")
    config.add_page_route("service", "/services/{slug}")
    config.add_route("healthz", "/healthz")
    config.add_page_route("theme", "/theme.css", rate_limited=False)
    config.add_page_route("page_css", "/page.css", rate_limited=False)
    config.add_page_route("embed", "/embed")
    config.add_page_route("embed_js", "/embed.js", rate_limited=False)
    config.add_page_route("language", "/lang/{code}")
    config.add_page_route("page_access", "/access")
    config.add_page_route("subscribe", "/subscribe")
    config.add_page_route("subscribe_confirm", "/subscribe/confirm/{token}")
    config.add_page_route("subscribe_unsubscribe", "/subscribe/unsubscribe/{token}")
    config.add_admin_route("admin_subscribers", "/admin/subscribers")
    config.add_admin_route("admin_subscriber_remove", "/admin/subscribers/{id:[0-9]+}/remove")
    config.add_page_route("api_summary", "/api/v2/summary.json")
    config.add_page_route("api_status", "/api/v2/status.json")
    config.add_page_route("api_components", "/api/v2/components.json")
    config.add_page_route("api_incidents", "/api/v2/incidents.json")
    config.add_page_route("api_unresolved", "/api/v2/incidents/unresolved.json")
    config.add_page_route("api_maintenances", "/api/v2/scheduled-maintenances.json")
    config.add_page_route("api_maintenances_upcoming", "/api/v2/scheduled-maintenances/upcoming.json")
    config.add_page_route("api_maintenances_active", "/api/v2/scheduled-maintenances/active.json")
    config.add_route("api_push", "/api/push/{token}")
    config.add_page_route("api_live", "/api/live")
    config.add_page_route("api_openapi", "/api/v2/openapi.json")
    config.add_page_route("feed_atom", "/history.atom")
    config.add_page_route("feed_rss", "/history.rss")
    config.add_page_route("badge_status", "/badge/{slug}/status.svg", on_private_pages=False)
    config.add_page_route("badge_uptime", "/badge/{slug}/uptime.svg", on_private_pages=False)
    config.add_page_route("badge_latency", "/badge/{slug}/latency.svg", on_private_pages=False)
    config.add_route("metrics", "/metrics")
    config.add_route("login", "/admin/login")
    config.add_route("login_code", "/admin/login/code")
    config.add_route("login_oidc", "/admin/login/oidc")
    config.add_route("login_oidc_callback", "/admin/login/oidc/callback")
    config.add_route("logout", "/admin/logout")
    config.add_admin_route("admin", "/admin")
    config.add_admin_route("admin_incidents", "/admin/incidents")
    config.add_admin_route("admin_incident_new", "/admin/incidents/new")
    config.add_admin_route("admin_incidents_resolve", "/admin/incidents/resolve")
    config.add_admin_route("admin_incident", "/admin/incidents/{id:[0-9]+}")
    config.add_admin_route("admin_incident_update", "/admin/incidents/{id:[0-9]+}/updates")
    config.add_admin_route("admin_incident_delete", "/admin/incidents/{id:[0-9]+}/delete")
    config.add_admin_route("admin_incident_postmortem", "/admin/incidents/{id:[0-9]+}/postmortem")
    config.add_admin_route("admin_incident_templates", "/admin/incident-templates")
    config.add_admin_route("admin_incident_template", "/admin/incident-templates/{id:[0-9]+}")
    config.add_admin_route("admin_incident_template_delete", "/admin/incident-templates/{id:[0-9]+}/delete")
    config.add_admin_route("admin_checks", "/admin/checks")
    config.add_admin_route("admin_service", "/admin/services/{id:[0-9]+}")
    config.add_admin_route("admin_service_check_now", "/admin/services/{id:[0-9]+}/check-now")
    config.add_admin_route("admin_maintenances", "/admin/maintenance")
    config.add_admin_route("admin_maintenance_new", "/admin/maintenance/new")
    config.add_admin_route("admin_maintenance", "/admin/maintenance/{id:[0-9]+}")
    config.add_admin_route("admin_maintenance_update", "/admin/maintenance/{id:[0-9]+}/updates")
    config.add_admin_route("admin_maintenance_cancel", "/admin/maintenance/{id:[0-9]+}/cancel")
    config.add_admin_route("admin_maintenance_end", "/admin/maintenance/{id:[0-9]+}/end")
    config.add_admin_route("admin_sla", "/admin/sla")
    config.add_admin_route("admin_users", "/admin/users")
    config.add_admin_route("admin_user_password", "/admin/users/{id:[0-9]+}/password")
    config.add_admin_route("admin_user_disable", "/admin/users/{id:[0-9]+}/disable")
    config.add_admin_route("admin_user_enable", "/admin/users/{id:[0-9]+}/enable")
    config.add_admin_route("admin_user_invite", "/admin/users/invite")
    config.add_admin_route("admin_membership_remove", "/admin/members/{id:[0-9]+}/remove")
    config.add_route("invitation", "/admin/invitations/{token}")
    config.add_admin_route("admin_audit", "/admin/audit")
    config.add_admin_route("admin_pages", "/admin/pages")
    config.add_admin_route("admin_page", "/admin/pages/{id:[0-9]+}")
    config.add_admin_route("admin_page_domain_check", "/admin/pages/{id:[0-9]+}/domain/check")
    config.add_admin_route("admin_page_domain_approve", "/admin/pages/{id:[0-9]+}/domain/approve")
    config.add_admin_route("admin_sessions", "/admin/sessions")
    config.add_admin_route("admin_2fa", "/admin/2fa")
    config.add_admin_route("admin_organization_2fa", "/admin/organizations/{id:[0-9]+}/2fa")
    config.add_admin_route("admin_sessions_end_others", "/admin/sessions/end-others")
    config.add_admin_route("admin_session_end", "/admin/sessions/{id:[0-9]+}/end")
    config.add_admin_route("admin_tokens", "/admin/tokens")
    config.add_admin_route("admin_token_revoke", "/admin/tokens/{id:[0-9]+}/revoke")
    config.add_route("api_v1_incidents", "/api/v1/incidents")
    config.add_route("api_v1_incident", "/api/v1/incidents/{id:[0-9]+}")
    config.add_route("api_v1_incident_updates", "/api/v1/incidents/{id:[0-9]+}/updates")
    config.add_route("api_v1_incident_postmortem", "/api/v1/incidents/{id:[0-9]+}/postmortem")
    config.add_route("api_v1_incident_templates", "/api/v1/incident-templates")
    config.add_route("api_v1_incident_template", "/api/v1/incident-templates/{id:[0-9]+}")
    config.add_route("api_v1_maintenances", "/api/v1/maintenance")
    config.add_route("api_v1_maintenance_end", "/api/v1/maintenance/{id:[0-9]+}/end")
    config.add_route("api_v1_maintenance_cancel", "/api/v1/maintenance/{id:[0-9]+}/cancel")
    config.add_route("api_v1_slack", "/api/v1/slack/command")
