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
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from statusweb.pages.charts import latency_chart
from statuscore import utcnow
from statusweb.models import Incident, Service
from statusweb.api.responses import json_error
from statusweb.pages.cache import cached
from statusweb.params import InvalidParameter, record_id, whole_number
from statusweb.pages.page_model import build_status_page, hourly_latency, service_rows, active_incidents
from statusweb.routes import READ_METHODS
from statusweb.pages.queries import visible_service

HISTORY_DAYS = 90
HISTORY_PAGE_SIZE = 20
MAX_HISTORY_PAGE = 10_000


def _page(template: str, values: dict[str, Any], request: Request) -> Response:
    return render_to_response(f"statusweb:templates/{template}", values, request=request)


@view_config(route_name="status", request_method=READ_METHODS)
@cached()
def status(request: Request) -> Response:
    page = build_status_page(request.dbsession, utcnow())
    return _page("status.pt", {"page": page, "title": page.banner.text}, request)


def history_page(raw: str | None) -> int:
    return whole_number(raw, "page", minimum=1, maximum=MAX_HISTORY_PAGE, default=1)


@view_config(route_name="history", request_method=READ_METHODS)
@cached({"page": history_page})
def history(request: Request) -> Response:
    now = utcnow()
    number = history_page(request.GET.get("page"))
    since = now - timedelta(days=HISTORY_DAYS)
    query = select(Incident).where(Incident.deleted.is_(False), Incident.created_at >= since)
    total = request.dbsession.scalar(select(func.count()).select_from(query.subquery()))
    incidents = request.dbsession.scalars(
        query.options(selectinload(Incident.updates)).order_by(Incident.created_at.desc())
        .offset((number - 1) * HISTORY_PAGE_SIZE).limit(HISTORY_PAGE_SIZE)).all()
    pages = max(1, -(-total // HISTORY_PAGE_SIZE))
    return _page("history.pt", {"incidents": incidents, "number": min(number, pages), "pages": pages,
                                "title": "Incident history", "days": HISTORY_DAYS}, request)


@view_config(route_name="incident", request_method=READ_METHODS)
@cached()
def incident(request: Request) -> Response:
    found = request.dbsession.scalars(
        select(Incident).where(Incident.id == record_id(request.matchdict["id"], "incident"),
                               Incident.deleted.is_(False))
        .options(selectinload(Incident.updates), selectinload(Incident.affected))).first()
    if found is None:
        raise HTTPNotFound("no such incident")
    names = dict(request.dbsession.execute(select(Service.id, Service.name)).tuples().all())
    affected = [(names.get(a.service_id, "?"), a.component_status) for a in found.affected]
    return _page("incident.pt", {"incident": found, "affected": affected, "title": found.title}, request)


@view_config(route_name="service", request_method=READ_METHODS)
@cached()
def service(request: Request) -> Response:
    now = utcnow()
    found = visible_service(request.dbsession, request.matchdict["slug"])
    (row,) = service_rows(request.dbsession, [found], active_incidents(request.dbsession), now)
    chart = latency_chart(hourly_latency(request.dbsession, found.id, now))
    return _page("service.pt", {"row": row, "chart": chart, "title": found.name}, request)


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
    if request.path.startswith(("/api/", "/badge/")):
        return json_error(404, message)
    response = _page("not_found.pt", {"title": "Not found", "message": message}, request)
    response.status_int = 404
    return response


@view_config(context=InvalidParameter, require_csrf=False)
def bad_parameter(exc: InvalidParameter, request: Request) -> Response:
    """A query value that cannot be used: 400 with what would be right."""
    if request.path.startswith(("/api/", "/badge/")):
        return json_error(400, str(exc.detail))
    response = _page("not_found.pt", {"title": "Bad request", "message": str(exc.detail)}, request)
    response.status_int = 400
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
    if request.path.startswith(("/api/", "/badge/")):
        response = json_error(405, f"use {' or '.join(allowed)}")
    else:
        response = Response(f"405 Method Not Allowed: use {' or '.join(allowed)}\n", status=405,
                            content_type="text/plain")
    response.headers["Allow"] = ", ".join(allowed)
    return response
