"""Every route says what it is (routes.py), and the edge decides by that, not by names:
a page route (every status page has it; private pages gate it), an admin route (the
signed-in side, scoped to the user's organizations) or one of the install's own below.
A new route that is none of these fails here until its author decides."""

from __future__ import annotations

from pyramid.interfaces import IRoutesMapper

from statusweb.routes import admin_routes, page_routes

INSTALL_ROUTES = {  # at the main address only, each with its own guard
    "healthz",  # a health probe's, no secrets
    "metrics",  # a token or metrics_public
    "api_push",  # the push token in the address
    "login",
    "login_code",  # half signed in: the session names who, for five minutes
    "login_oidc",  # off to the OpenID Connect provider
    "login_oidc_callback",  # back from it: the state in the session must match
    "logout",
    "invitation",  # the invitation's token in the address
    "api_v1_incidents",  # /api/v1: an organization's bearer token
    "api_v1_slack",  # Slack's signature, with the app's signing secret
    "api_v1_incident",
    "api_v1_incident_updates",
    "api_v1_incident_postmortem",
    "api_v1_incident_templates",
    "api_v1_incident_template",
    "api_v1_maintenances",
    "api_v1_maintenance_end",
    "api_v1_maintenance_cancel",
}


def routes_of(app):
    registry = app.app.registry
    return registry, {route.name: route for route in registry.getUtility(IRoutesMapper).get_routes()}


def test_every_route_is_declared_a_page_an_admin_or_an_install_route(testapp):
    registry, routes = routes_of(testapp)
    pages, admin = set(page_routes(registry)), admin_routes(registry)
    assert not pages & admin and not pages & INSTALL_ROUTES and not admin & INSTALL_ROUTES
    undeclared = set(routes) - pages - admin - INSTALL_ROUTES
    assert undeclared == set(), "declare each with add_page_route, add_admin_route, or list it here"
    assert INSTALL_ROUTES <= set(routes)


def test_the_signed_in_side_is_all_admin_routes_and_badges_never_serve_a_private_page(testapp):
    registry, routes = routes_of(testapp)
    admin = admin_routes(registry)
    under_admin = {name for name, route in routes.items() if route.pattern.startswith("/admin")}
    assert under_admin - admin == {"login", "login_code", "login_oidc", "login_oidc_callback", "logout", "invitation"}
    assert all(routes[name].pattern.startswith("/admin") for name in admin)
    private = {name for name, kind in page_routes(registry).items() if not kind.on_private_pages}
    assert private == {"badge_status", "badge_uptime", "badge_latency"}
    unlimited = {name for name, kind in page_routes(registry).items() if not kind.rate_limited}
    assert unlimited == {"__static/", "theme", "page_css", "embed_js"}
