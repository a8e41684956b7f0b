"""Every route in one place."""

from __future__ import annotations

from pyramid.config import Configurator

READ_METHODS = ("GET", "HEAD")  # public pages and APIs; anything else is a 405

# What every status page has, at `/` for the default page, under `/pages/{slug}/` for each
# page, and at `/` of a page's own domain. Everything else (the admin, /metrics, /healthz,
# pushes) is the install's, at its main address only.
PAGE_ROUTES = frozenset(
    {
        "__static/",
        "status",
        "history",
        "incident",
        "service",
        "theme",
        "language",
        "page_access",
        "subscribe",
        "subscribe_confirm",
        "subscribe_unsubscribe",
        "api_summary",
        "api_status",
        "api_components",
        "api_incidents",
        "api_unresolved",
        "api_maintenances",
        "api_maintenances_upcoming",
        "api_maintenances_active",
        "api_live",
        "api_openapi",
        "feed_atom",
        "feed_rss",
        "badge_status",
        "badge_uptime",
        "badge_latency",
    }
)


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "statusweb:static", cache_max_age=3600)
    config.add_route("status", "/")
    config.add_route("history", "/history")
    config.add_route("incident", "/incidents/{id:[0-9]+}")
    config.add_route("service", "/services/{slug}")
    config.add_route("healthz", "/healthz")
    config.add_route("theme", "/theme.css")
    config.add_route("language", "/lang/{code}")
    config.add_route("page_access", "/access")
    config.add_route("subscribe", "/subscribe")
    config.add_route("subscribe_confirm", "/subscribe/confirm/{token}")
    config.add_route("subscribe_unsubscribe", "/subscribe/unsubscribe/{token}")
    config.add_route("admin_subscribers", "/admin/subscribers")
    config.add_route("admin_subscriber_remove", "/admin/subscribers/{id:[0-9]+}/remove")
    config.add_route("api_summary", "/api/v2/summary.json")
    config.add_route("api_status", "/api/v2/status.json")
    config.add_route("api_components", "/api/v2/components.json")
    config.add_route("api_incidents", "/api/v2/incidents.json")
    config.add_route("api_unresolved", "/api/v2/incidents/unresolved.json")
    config.add_route("api_maintenances", "/api/v2/scheduled-maintenances.json")
    config.add_route("api_maintenances_upcoming", "/api/v2/scheduled-maintenances/upcoming.json")
    config.add_route("api_maintenances_active", "/api/v2/scheduled-maintenances/active.json")
    config.add_route("api_push", "/api/push/{token}")
    config.add_route("api_live", "/api/live")
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
    config.add_route("admin_service", "/admin/services/{id:[0-9]+}")
    config.add_route("admin_service_check_now", "/admin/services/{id:[0-9]+}/check-now")
    config.add_route("admin_maintenances", "/admin/maintenance")
    config.add_route("admin_maintenance_new", "/admin/maintenance/new")
    config.add_route("admin_maintenance", "/admin/maintenance/{id:[0-9]+}")
    config.add_route("admin_maintenance_update", "/admin/maintenance/{id:[0-9]+}/updates")
    config.add_route("admin_maintenance_cancel", "/admin/maintenance/{id:[0-9]+}/cancel")
    config.add_route("admin_maintenance_end", "/admin/maintenance/{id:[0-9]+}/end")
    config.add_route("admin_sla", "/admin/sla")
    config.add_route("admin_users", "/admin/users")
    config.add_route("admin_user_password", "/admin/users/{id:[0-9]+}/password")
    config.add_route("admin_user_disable", "/admin/users/{id:[0-9]+}/disable")
    config.add_route("admin_user_enable", "/admin/users/{id:[0-9]+}/enable")
    config.add_route("admin_user_invite", "/admin/users/invite")
    config.add_route("admin_membership_remove", "/admin/members/{id:[0-9]+}/remove")
    config.add_route("invitation", "/admin/invitations/{token}")
    config.add_route("admin_audit", "/admin/audit")
    config.add_route("admin_pages", "/admin/pages")
    config.add_route("admin_page", "/admin/pages/{id:[0-9]+}")
    config.add_route("admin_page_domain_check", "/admin/pages/{id:[0-9]+}/domain/check")
    config.add_route("admin_page_domain_approve", "/admin/pages/{id:[0-9]+}/domain/approve")
    config.add_route("admin_sessions", "/admin/sessions")
    config.add_route("admin_sessions_end_others", "/admin/sessions/end-others")
    config.add_route("admin_session_end", "/admin/sessions/{id:[0-9]+}/end")
    config.add_route("admin_tokens", "/admin/tokens")
    config.add_route("admin_token_revoke", "/admin/tokens/{id:[0-9]+}/revoke")
    config.add_route("api_v1_incidents", "/api/v1/incidents")
    config.add_route("api_v1_incident", "/api/v1/incidents/{id:[0-9]+}")
    config.add_route("api_v1_incident_updates", "/api/v1/incidents/{id:[0-9]+}/updates")
    config.add_route("api_v1_maintenances", "/api/v1/maintenance")
    config.add_route("api_v1_maintenance_end", "/api/v1/maintenance/{id:[0-9]+}/end")
    config.add_route("api_v1_maintenance_cancel", "/api/v1/maintenance/{id:[0-9]+}/cancel")
