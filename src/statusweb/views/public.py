"""The public pages: status, history, one incident, one service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pyramid.exceptions import PredicateMismatch
from pyramid.httpexceptions import HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from statuscore import utcnow
from statusweb.api.responses import json_error
from statusweb.edge.page_cache import cached
from statusweb.pages.charts import RANGES, chart_range, latency_chart, latency_table
from statusweb.pages.page_model import (
    FROM_CHECKS,
    LABELS,
    build_status_page,
    latency_points,
    service_rows,
)
from statusweb.pages.queries import (
    active_incidents,
    incident_history,
    maintenance_history,
    region_observations,
    service_names,
    visible_incident,
    visible_service,
)
from statusweb.pages.sla import sla_figures
from statusweb.pages.version import page_version
from statusweb.routes import READ_METHODS
from statusweb.services import postmortems
from statusweb.services.params import InvalidParameter, whole_number

HISTORY_DAYS = 90
HISTORY_PAGE_SIZE = 20
MAX_HISTORY_PAGE = 10_000


def _template(name: str) -> str:
    return f"statusweb:templates/{name}"


@view_config(route_name="status", request_method=READ_METHODS, renderer=_template("status.pt"), decorator=cached())
def status(request: Request) -> dict[str, Any]:
    now = utcnow()
    page = build_status_page(request.dbsession, now, histories=request.registry["statusweb.histories"])
    return {
        "page": page,
        "title": page.banner.text,
        "names": service_names(request.dbsession),
        "version": page_version(request.dbsession, page, now),
    }


def by_month(incidents: list[Any]) -> list[tuple[str, list[Any]]]:
    """Incidents (newest first) grouped under "November 2026" headings, in order."""
    months: list[tuple[str, list[Any]]] = []
    for incident in incidents:
        label = f"{incident.created_at:%B %Y}"
        if not months or months[-1][0] != label:
            months.append((label, []))
        months[-1][1].append(incident)
    return months


def history_page(raw: str | None) -> int:
    return whole_number(raw, "page", minimum=1, maximum=MAX_HISTORY_PAGE, default=1)


@view_config(
    route_name="history",
    request_method=READ_METHODS,
    renderer=_template("history.pt"),
    decorator=cached({"page": history_page}),
)
def history(request: Request) -> dict[str, Any]:
    number = history_page(request.GET.get("page"))
    incidents, total = incident_history(
        request.dbsession, utcnow() - timedelta(days=HISTORY_DAYS), number, HISTORY_PAGE_SIZE
    )
    pages = max(1, -(-total // HISTORY_PAGE_SIZE))
    past = maintenance_history(request.dbsession, utcnow() - timedelta(days=HISTORY_DAYS)) if number == 1 else []
    return {
        "incidents": incidents,
        "months": by_month(incidents),
        "number": min(number, pages),
        "pages": pages,
        "title": "Incident history",
        "days": HISTORY_DAYS,
        "maintenances": past,
        "names": service_names(request.dbsession),
    }


@view_config(route_name="incident", request_method=READ_METHODS, renderer=_template("incident.pt"), decorator=cached())
def incident(request: Request) -> dict[str, Any]:
    found = visible_incident(request.dbsession, request.matchdict["id"])
    names = service_names(request.dbsession)
    affected = [(names.get(a.service_id, "?"), a.component_status) for a in found.affected]
    published = found.postmortem_published_at is not None and found.postmortem
    return {
        "incident": found,
        "affected": affected,
        "title": found.title,
        "postmortem_html": postmortems.render(found.postmortem) if published else "",
    }


@view_config(
    route_name="service",
    request_method=READ_METHODS,
    renderer=_template("service.pt"),
    decorator=cached({"range": chart_range}),
)
def service(request: Request) -> dict[str, Any]:
    now = utcnow()
    found = visible_service(request.dbsession, request.matchdict["slug"])
    (row,) = service_rows(
        request.dbsession,
        [found],
        active_incidents(request.dbsession),
        now,
        histories=request.registry["statusweb.histories"],
    )
    shown_range = chart_range(request.GET.get("range"))
    points = latency_points(request.dbsession, found.id, now, shown_range)
    chart = latency_chart(points, shown_range, now)
    return {
        "row": row,
        "chart": chart,
        "title": found.name,
        "target": found.sla_target,
        "service_id": found.id,
        "range": shown_range,
        "ranges": list(RANGES),
        "values": latency_table(points, shown_range),
        "figures": sla_figures(request.dbsession, [found], now).get(found.id, []),
        "regions": [
            (seen.region, LABELS[FROM_CHECKS.get(seen.status, "unknown")])
            for seen in region_observations(request.dbsession, found.id)
        ],
    }


@view_config(context=HTTPNotFound, require_csrf=False)
def not_found(exc: HTTPNotFound, request: Request) -> Response:
    """404 as HTML for people, as JSON for the API and badge routes. Only our own
    "no such ..." messages are shown: the path is never echoed back."""
    if isinstance(exc, PredicateMismatch) and request.method not in READ_METHODS:
        allowed = allowed_methods(request)
        if allowed and request.method not in allowed:
            return method_not_allowed(request, allowed)
    detail = str(exc.detail or "")
    message = detail if detail.startswith("no such ") else "This page does not exist."
    if _wants_json(request):
        return json_error(404, message)
    return _error_page(404, "Not found", message, request)


@view_config(context=InvalidParameter, require_csrf=False)
def bad_parameter(exc: InvalidParameter, request: Request) -> Response:
    """A query value that cannot be used: 400 with what would be right."""
    if _wants_json(request):
        return json_error(400, str(exc.detail))
    return _error_page(400, "Bad request", str(exc.detail), request)


def _wants_json(request: Request) -> bool:
    """The API and badge routes answer errors in JSON; people get pages."""
    return bool(request.path.startswith(("/api/", "/badge/")))


def _error_page(status: int, title: str, message: str, request: Request) -> Response:
    response = render_to_response(_template("not_found.pt"), {"title": title, "message": message}, request=request)
    response.status_int = status
    return response


def allowed_methods(request: Request) -> tuple[str, ...]:
    """The methods the matched route's views accept (from Pyramid's introspector)."""
    route = request.matched_route
    if route is None:
        return ()
    introspector = request.registry.introspector
    methods: set[str] = set()
    for view in introspector.get_category("views") or ():
        if view["introspectable"]["route_name"] == route.name:
            declared = view["introspectable"]["request_methods"] or ("GET", "POST")
            methods.update((declared,) if isinstance(declared, str) else declared)
    if "GET" in methods:
        methods.add("HEAD")
    return tuple(sorted(methods))


def method_not_allowed(request: Request, allowed: tuple[str, ...]) -> Response:
    if _wants_json(request):
        response = json_error(405, f"use {' or '.join(allowed)}")
    else:
        response = Response(
            f"405 Method Not Allowed: use {' or '.join(allowed)}\n", status=405, content_type="text/plain"
        )
    response.headers["Allow"] = ", ".join(allowed)
    return response
