"""A service's admin page (state, SLA figures, recent checks, "Check now") and the
monthly SLA report for every service, as HTML or CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from statuscore import utcnow
from statusweb.models import CheckRequest, CheckResultRow, Service
from statusweb.pages.queries import heartbeat_age, region_observations, visible_services
from statusweb.pages.sla import WINDOWS, month_report, sla_figures
from statusweb.services.params import record_id

RUNNER_GONE_AFTER = 60.0  # seconds without a heartbeat: "check now" would wait for nobody
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _service(request: Request) -> Service:
    found = request.dbsession.scalars(
        select(Service)
        .where(Service.id == record_id(request.matchdict["id"], "service"))
        .options(selectinload(Service.state))
    ).first()
    if found is None:
        raise HTTPNotFound("no such service")
    return found


@view_config(
    route_name="admin_service", renderer="statusweb:templates/admin/service.pt", permission="view", request_method="GET"
)
def service_page(request: Request) -> dict[str, Any]:
    service = _service(request)
    session = request.dbsession
    now = utcnow()
    requests = session.scalars(
        select(CheckRequest).where(CheckRequest.service_id == service.id).order_by(CheckRequest.id.desc()).limit(5)
    ).all()
    recent = session.scalars(
        select(CheckResultRow)
        .where(CheckResultRow.service_id == service.id)
        .order_by(CheckResultRow.checked_at.desc())
        .limit(20)
    ).all()
    age = heartbeat_age(request.engine, now)
    regions = region_observations(session, service.id)
    return {
        "title": service.name,
        "service": service,
        "requests": requests,
        "recent": recent,
        "regions": regions,
        "figures": sla_figures(session, [service], now).get(service.id, []),
        "pending": any(r.done_at is None for r in requests),
        "runner_alive": age is not None and age < RUNNER_GONE_AFTER,
        "error": request.GET.get("error") == "no-runner",
    }


@view_config(route_name="admin_service_check_now", permission="edit", request_method="POST")
def check_now(request: Request) -> HTTPSeeOther:
    """Ask the runner to check this service now (once: a request already waiting is reused)."""
    service = _service(request)
    page = request.route_url("admin_service", id=service.id)
    age = heartbeat_age(request.engine)
    if age is None or age >= RUNNER_GONE_AFTER:
        return HTTPSeeOther(page + "?error=no-runner")
    waiting = request.dbsession.scalar(
        select(CheckRequest.id).where(CheckRequest.service_id == service.id, CheckRequest.done_at.is_(None))
    )
    if waiting is None:
        request.dbsession.add(
            CheckRequest(service_id=service.id, requested_at=utcnow(), requested_by=request.identity.name[:100])
        )
    return HTTPSeeOther(page)


def report_month(raw: str | None, now: datetime) -> tuple[int, int]:
    """YYYY-MM from the query (default: this month); 400 for anything else."""
    if not raw:
        return now.year, now.month
    match = _MONTH.fullmatch(raw) if raw.isascii() else None
    if match is None or not 2000 <= int(match.group(1)) <= 9998 or not 1 <= int(match.group(2)) <= 12:
        raise HTTPBadRequest("month must look like 2026-11")
    return int(match.group(1)), int(match.group(2))


@view_config(
    route_name="admin_sla", renderer="statusweb:templates/admin/sla.pt", permission="view", request_method="GET"
)
def sla_report(request: Request) -> Any:
    year, month = report_month(request.GET.get("month"), utcnow())
    rows = month_report(request.dbsession, visible_services(request.dbsession), year, month)
    if request.GET.get("format") == "csv":
        return _csv(rows, f"sla-{year:04d}-{month:02d}.csv")
    previous = f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"
    following = f"{year + (month == 12):04d}-{month % 12 + 1:02d}"
    return {
        "title": f"SLA {year:04d}-{month:02d}",
        "rows": rows,
        "month": f"{year:04d}-{month:02d}",
        "previous": previous,
        "following": following,
        "windows": [name for name, _ in WINDOWS],
    }


def _csv(rows: list[Any], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "service",
            "slug",
            "target_percent",
            "uptime_percent",
            "checked_minutes",
            "downtime_minutes",
            "error_budget_minutes",
            "budget_left_minutes",
            "met",
        ]
    )
    for service, figure in rows:
        writer.writerow(
            [
                _cell(service.name),
                service.slug,
                service.sla_target if service.sla_target else "",
                f"{figure.uptime:.4f}" if figure.uptime is not None else "",
                f"{figure.checked_minutes:.1f}",
                f"{figure.downtime_minutes:.1f}",
                f"{figure.budget_minutes:.1f}" if service.sla_target else "",
                f"{figure.budget_left_minutes:.1f}" if service.sla_target else "",
                ("yes" if figure.met else "no") if service.sla_target else "",
            ]
        )
    response = Response(out.getvalue(), content_type="text/csv", charset="utf-8")
    response.content_disposition = f'attachment; filename="{filename}"'
    return response


def _cell(text: str) -> str:
    """No spreadsheet formulas from a service name (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
