"""What a status page says beside a service that is down with what it needs
(`depends_on`): "Affected by Database". A needed service kept off the pages
(`public = false`) is not named, only said to exist."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from statusweb.models import Service, ServiceState

#: What a service checked as one of these may be said to be affected by.
AFFECTED_STATUSES = frozenset({"down", "degraded"})
UNNAMED = ""  # a needed service that is down but not public


def needed_down(session: Session, services: Sequence[Service]) -> dict[int, list[str]]:
    """By service id, the names of the services it depends on that are DOWN now (UNNAMED
    for one that is not public); one query for the whole page."""
    wanted = {slug for service in services for slug in service.depends_on_slugs.split()}
    if not wanted:
        return {}
    down = {
        slug: name if public else UNNAMED
        for slug, name, public in session.execute(
            select(Service.slug, Service.name, Service.public)
            .join(ServiceState, ServiceState.service_id == Service.id)
            .where(Service.slug.in_(wanted), Service.hidden.is_(False), ServiceState.status == "down")
        )
    }
    found = {}
    for service in services:
        names = [down[slug] for slug in service.depends_on_slugs.split() if slug in down]
        if names:
            found[service.id] = names
    return found
