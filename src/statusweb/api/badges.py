"""Shields-style SVG badges (pybadges) for READMEs: status, uptime over N days, latency."""

from __future__ import annotations

from datetime import timedelta

import pybadges
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import func, select

from statuscore import utcnow
from statusweb.edge.page_cache import cached
from statusweb.models import RollupDaily, Service
from statusweb.models.rollups import PASSING, day_bucket, uptime_level, uptime_percent
from statusweb.pages.page_model import FROM_CHECKS, LABELS, service_rows
from statusweb.pages.queries import active_incidents, visible_service
from statusweb.routes import READ_METHODS
from statusweb.services.params import whole_number

COLOURS = {
    "operational": "#22c55e",
    "degraded_performance": "#f59e0b",
    "partial_outage": "#f97316",
    "major_outage": "#ef4444",
    "under_maintenance": "#3b82f6",
    "unknown": "#9ca3af",
}


def _service(request: Request) -> Service:
    """The badge's service; an unknown slug is a 404 (answered as JSON on /badge/)."""
    return visible_service(request.dbsession, request.matchdict["slug"])


def _svg(left: str, right: str, colour: str) -> Response:
    return Response(
        pybadges.badge(left_text=left, right_text=right, right_color=colour),
        content_type="image/svg+xml",
        charset="utf-8",
    )


@view_config(route_name="badge_status", request_method=READ_METHODS, decorator=cached())
def status_badge(request: Request) -> Response:
    service = _service(request)
    (row,) = service_rows(
        request.dbsession,
        [service],
        active_incidents(request.dbsession),
        utcnow(),
        with_bars=False,
        histories=request.registry["statusweb.histories"],
    )
    return _svg(service.name, LABELS[row.status].lower(), COLOURS[row.status])


def uptime_days(raw: str | None) -> int:
    return whole_number(raw, "days", minimum=1, maximum=90, default=30)


@view_config(route_name="badge_uptime", request_method=READ_METHODS, decorator=cached({"days": uptime_days}))
def uptime_badge(request: Request) -> Response:
    service = _service(request)
    days = uptime_days(request.GET.get("days"))
    since = day_bucket(utcnow()) - timedelta(days=days - 1)
    up, degraded, down = request.dbsession.execute(
        select(
            func.coalesce(func.sum(RollupDaily.up_count), 0),
            func.coalesce(func.sum(RollupDaily.degraded_count), 0),
            func.coalesce(func.sum(RollupDaily.down_count), 0),
        ).where(RollupDaily.service_id == service.id, RollupDaily.bucket >= since)
    ).one()
    percent = uptime_percent(up, degraded, down)
    if percent is None:
        return _svg(f"uptime {days}d", "no data", COLOURS["unknown"])
    colour = COLOURS[FROM_CHECKS[uptime_level(percent)]]
    shown = f"{percent:.2f}%" if percent < 100 else "100%"
    return _svg(f"uptime {days}d", shown, colour)


@view_config(route_name="badge_latency", request_method=READ_METHODS, decorator=cached())
def latency_badge(request: Request) -> Response:
    service = _service(request)
    state = service.state
    if state is None or state.last_latency_ms is None or state.last_status not in PASSING:
        return _svg("latency", "n/a", COLOURS["unknown"])
    ms = state.last_latency_ms
    colour = (
        COLOURS["operational"]
        if ms < 500
        else (COLOURS["degraded_performance"] if ms < 2000 else COLOURS["major_outage"])
    )
    return _svg("latency", f"{ms} ms", colour)
