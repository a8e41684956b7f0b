"""The admin's dashboard: services by status, open incidents, runners, regions and duties."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import func, select

from statuscore import utcnow
from statusweb.models import (
    Incident,
    Service,
    ServiceState,
    lease_seconds,
)
from statusweb.pages.queries import (
    last_heartbeat,
    members,
    silent_regions,
    stalled_duties,
    visible_services,
)


@view_config(route_name="admin", renderer="statusweb:templates/admin/dashboard.pt", permission="view")
def dashboard(request: Request) -> dict[str, Any]:
    session = request.dbsession
    by_status = dict(
        session.execute(
            select(ServiceState.status, func.count())
            .join(Service)
            .where(Service.hidden.is_(False))
            .group_by(ServiceState.status)
        ).all()
    )
    active = session.scalar(
        select(func.count()).select_from(Incident).where(Incident.status != "resolved", Incident.deleted.is_(False))
    )
    engine = request.engine
    beat = last_heartbeat(engine)
    ttl = lease_seconds(request.settings.heartbeat_interval)
    return {
        "title": "Admin",
        "by_status": by_status,
        "active": active,
        "runners": members(engine, live_within=ttl),
        "silent_regions": silent_regions(engine, ttl),
        "services": visible_services(session, with_state=True),
        "heartbeat_age": None if beat is None else (utcnow() - beat.beat_at).total_seconds(),
        "sinks": [] if beat is None else [name for name in beat.sinks.split(",") if name],
        "stalled": [] if beat is None else stalled_duties(beat, with_errors=True),
    }
