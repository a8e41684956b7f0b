"""Statuspage-compatible JSON (/api/v2/...): the field names and value sets of
Atlassian Statuspage's public API, so its clients and widgets work unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from statuscore import slugify, utcnow
from statusweb.edge.page_cache import cached
from statusweb.models import Incident, Maintenance, Service
from statusweb.pages.identity import page_identity
from statusweb.pages.page_model import SEVERITY, StatusPage, build_status_page
from statusweb.routes import READ_METHODS
from statusweb.services.incidents import iso, statuspage_incident
from statusweb.services.maintenance import statuspage_maintenance

INDICATORS = {"operational": "none", "maintenance": "minor", "degraded": "minor", "partial": "minor", "major": "major"}
INCIDENT_LIMIT = 50


def page_json(request: Request, updated_at: datetime | None) -> dict[str, Any]:
    identity = page_identity(request)
    return {
        "id": identity.id,
        "name": identity.name,
        "url": identity.url,
        "time_zone": "Etc/UTC",
        "updated_at": iso(updated_at or utcnow()),
    }


def status_json(page: StatusPage) -> dict[str, str]:
    indicator = INDICATORS[page.banner.key]
    if any(i.impact == "critical" for i in page.active_incidents):
        indicator = "critical"
    return {"indicator": indicator, "description": page.banner.text}


def components_json(request: Request, page: StatusPage, services: list[Service]) -> list[dict[str, Any]]:
    """Each service, plus one group component per group (Statuspage's shape for groups)."""
    page_id = page_identity(request).id
    shown = {row.slug: row for row in page.services}
    groups: dict[str, list[str]] = {}
    items: list[dict[str, Any]] = []
    for service in services:
        row = shown.get(service.slug)
        if row is None:
            continue
        group_id = group_component_id(service.group_name) if service.group_name else None
        if group_id:
            groups.setdefault(service.group_name, []).append(service.slug)
        items.append(
            {
                "id": service.slug,
                "name": service.name,
                "status": row.status if row.status != "unknown" else "operational",
                "created_at": iso(service.created_at),
                "updated_at": iso(row.checked_at or service.updated_at),
                "position": service.position + 1,
                "description": service.description or None,
                "showcase": True,
                "start_date": service.created_at.date().isoformat(),
                "group_id": group_id,
                "page_id": page_id,
                "group": False,
                "only_show_if_degraded": False,
            }
        )
    described = {group.name: group.description for group in page.groups}
    for position, (name, members) in enumerate(groups.items(), start=len(items) + 1):
        statuses = [str(item["status"]) for item in items if item["id"] in members]
        items.append(
            {
                "id": group_component_id(name),
                "name": name,
                "status": max(statuses, key=SEVERITY.__getitem__),
                "created_at": items[0]["created_at"],
                "updated_at": max(str(item["updated_at"]) for item in items if item["id"] in members),
                "position": position,
                "description": described.get(name) or None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": page_id,
                "group": True,
                "only_show_if_degraded": False,
                "components": members,
            }
        )
    return items


def group_component_id(group: str) -> str:
    return f"group-{slugify(group, fallback='group')}"


def incident_json(request: Request, incident: Incident, components: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return statuspage_incident(
        incident,
        page_id=page_identity(request).id,
        shortlink=request.route_url("incident", id=incident.id),
        components=[components[a.service_id] for a in incident.affected if a.service_id in components],
    )


def maintenance_json(request: Request, window: Maintenance, components: dict[int, dict[str, Any]]) -> dict[str, Any]:
    affected = (
        list(components.values())
        if window.all_services
        else [components[a.service_id] for a in window.affected if a.service_id in components]
    )
    return statuspage_maintenance(
        window,
        page_id=page_identity(request).id,
        shortlink=request.route_url("status" if window.is_open else "history", _anchor=f"maintenance-{window.id}"),
        components=affected,
    )


class _Snapshot:
    """Everything one JSON answer needs, read once."""

    def __init__(self, request: Request) -> None:
        session = request.dbsession
        self.page = build_status_page(
            session, utcnow(), with_bars=False, histories=request.registry["statusweb.histories"]
        )
        self.services = self.page.shown
        self.components = components_json(request, self.page, self.services)
        by_slug = {c["id"]: c for c in self.components}
        self.by_service_id = {s.id: by_slug[s.slug] for s in self.services if s.slug in by_slug}
        self.request = request

    def incidents(self, *, unresolved: bool) -> list[dict[str, Any]]:
        """Newest first; the unresolved ones are the page's active incidents, already read."""
        if unresolved:
            rows = self.page.active_incidents[:INCIDENT_LIMIT]
        else:
            rows = list(
                self.request.dbsession.scalars(
                    select(Incident)
                    .where(Incident.deleted.is_(False))
                    .options(selectinload(Incident.updates), selectinload(Incident.affected))
                    .order_by(Incident.created_at.desc())
                    .limit(INCIDENT_LIMIT)
                )
            )
        return [incident_json(self.request, row, self.by_service_id) for row in rows]

    def maintenances(self, scope: str) -> list[dict[str, Any]]:
        """Windows (never series) by scope: upcoming, active, or all (newest first)."""
        query = select(Maintenance).where(Maintenance.rrule == "")
        now = utcnow()
        if scope == "upcoming":
            query = query.where(Maintenance.status == "scheduled", Maintenance.starts_at > now)
        elif scope == "active":  # by the clock too, should the runner not have moved it yet
            query = query.where(
                or_(
                    Maintenance.status.in_(("in_progress", "verifying")),
                    and_(Maintenance.status == "scheduled", Maintenance.starts_at <= now, Maintenance.ends_at > now),
                )
            )
        order = Maintenance.starts_at.asc() if scope != "all" else Maintenance.starts_at.desc()
        rows = self.request.dbsession.scalars(
            query.options(selectinload(Maintenance.updates), selectinload(Maintenance.affected))
            .order_by(order)
            .limit(INCIDENT_LIMIT)
        )
        return [maintenance_json(self.request, row, self.by_service_id) for row in rows]

    @property
    def page_json(self) -> dict[str, Any]:
        return page_json(self.request, self.page.updated_at)


@view_config(route_name="api_summary", request_method=READ_METHODS, renderer="json", decorator=cached())
def summary(request: Request) -> dict[str, Any]:
    snap = _Snapshot(request)
    return {
        "page": snap.page_json,
        "components": snap.components,
        "incidents": snap.incidents(unresolved=True),
        "scheduled_maintenances": snap.maintenances("upcoming") + snap.maintenances("active"),
        "status": status_json(snap.page),
    }


@view_config(route_name="api_status", request_method=READ_METHODS, renderer="json", decorator=cached())
def status(request: Request) -> dict[str, Any]:
    snap = _Snapshot(request)
    return {"page": snap.page_json, "status": status_json(snap.page)}


@view_config(route_name="api_components", request_method=READ_METHODS, renderer="json", decorator=cached())
def components(request: Request) -> dict[str, Any]:
    snap = _Snapshot(request)
    return {"page": snap.page_json, "components": snap.components}


@view_config(route_name="api_incidents", request_method=READ_METHODS, renderer="json", decorator=cached())
def incidents(request: Request) -> dict[str, Any]:
    snap = _Snapshot(request)
    return {"page": snap.page_json, "incidents": snap.incidents(unresolved=False)}


@view_config(route_name="api_unresolved", request_method=READ_METHODS, renderer="json", decorator=cached())
def unresolved(request: Request) -> dict[str, Any]:
    snap = _Snapshot(request)
    return {"page": snap.page_json, "incidents": snap.incidents(unresolved=True)}


@view_config(route_name="api_maintenances", request_method=READ_METHODS, renderer="json", decorator=cached())
def scheduled_maintenances(request: Request) -> dict[str, Any]:
    snap = _Snapshot(request)
    return {"page": snap.page_json, "scheduled_maintenances": snap.maintenances("all")}


@view_config(route_name="api_maintenances_upcoming", request_method=READ_METHODS, renderer="json", decorator=cached())
def upcoming_maintenances(request: Request) -> dict[str, Any]:
    snap = _Snapshot(request)
    return {"page": snap.page_json, "scheduled_maintenances": snap.maintenances("upcoming")}


@view_config(route_name="api_maintenances_active", request_method=READ_METHODS, renderer="json", decorator=cached())
def active_maintenances(request: Request) -> dict[str, Any]:
    snap = _Snapshot(request)
    return {"page": snap.page_json, "scheduled_maintenances": snap.maintenances("active")}
