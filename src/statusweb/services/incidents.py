"""Incidents, written and read in one place.

Every path that opens, edits or moves an incident on (the admin, /api/v1) goes through
`create`, `edit` and `post_update`; every output (the admin's JSON, /api/v1, /api/v2, the
feeds, subscriber mail and webhooks) starts from `incident_json`. A field added to the
model and to `incident_json` reaches all of them: /api/v2 and webhooks carry our fields
beside Statuspage's (`statuspage_incident`), as Statuspage's clients ignore what they do
not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from statuscore import utcnow
from statusweb.models import AffectedService, Incident, IncidentUpdate

# what only people signed in to the organization see: who wrote it
PRIVATE_FIELDS = ("author",)
# our names that Statuspage's shape spells its own way (see statuspage_incident)
STATUSPAGE_RENAMED = ("title", "updates", "components")


def create(
    session: Session,
    *,
    page_id: int | None,
    title: str,
    impact: str,
    components: Mapping[int, str],
    status: str,
    body: str,
    author: str,
    root_cause: str = "",
    eta: datetime | None = None,
    now: datetime | None = None,
) -> Incident:
    """A new incident with its first update, flushed so it has its id."""
    now = now or utcnow()
    incident = Incident(
        title=title,
        impact=impact,
        status="investigating",
        root_cause=root_cause,
        created_at=now,
        updated_at=now,
        deleted=False,
        page_id=page_id,
    )
    incident.affected = _affected(components)
    incident.post_update(status=status, body=body, at=now, author=author, eta=eta)
    session.add(incident)
    session.flush()
    return incident


def edit(
    incident: Incident,
    *,
    title: str,
    impact: str,
    root_cause: str,
    components: Mapping[int, str],
    now: datetime | None = None,
) -> None:
    """Correct what the incident says, without an update of its own."""
    incident.title, incident.impact, incident.root_cause = title, impact, root_cause
    incident.affected = _affected(components)
    incident.updated_at = now or utcnow()


def post_update(
    incident: Incident,
    *,
    status: str,
    body: str,
    author: str,
    eta: datetime | None = None,
    root_cause: str = "",
    now: datetime | None = None,
) -> IncidentUpdate:
    """Move the incident on (IncidentNotEditable once resolved); a root cause given
    with the update (usually when resolving) replaces the one it had."""
    update = incident.post_update(status=status, body=body, at=now or utcnow(), author=author, eta=eta)
    if root_cause:
        incident.root_cause = root_cause
    return update


def incident_json(incident: Incident, slugs: Mapping[int, str], *, public: bool) -> dict[str, Any]:
    """Every field of an incident, once. `public` leaves out what only the organization
    sees (PRIVATE_FIELDS)."""
    hidden = PRIVATE_FIELDS if public else ()
    return {
        "id": incident.id,
        "title": incident.title,
        "impact": incident.impact,
        "status": incident.status,
        "root_cause": incident.root_cause,
        "created_at": incident.created_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "postmortem": incident.postmortem,  # Markdown (services/postmortems.py)
        "postmortem_published_at": incident.postmortem_published_at.isoformat()
        if incident.postmortem_published_at
        else None,
        "components": {slugs.get(a.service_id, "?"): a.component_status for a in incident.affected},
        "updates": [
            {key: value for key, value in _update_json(update).items() if key not in hidden}
            for update in incident.updates
        ],
    }


def statuspage_incident(
    incident: Incident, *, page_id: str, shortlink: str, components: list[dict[str, Any]]
) -> dict[str, Any]:
    """Statuspage's incident shape (/api/v2, webhooks), with every public field of ours
    beside it."""
    ours = incident_json(incident, {}, public=True)
    monitoring = [u.created_at for u in incident.updates if u.status == "monitoring"]
    return {
        **{key: value for key, value in ours.items() if key not in STATUSPAGE_RENAMED},
        "id": str(incident.id),
        "name": incident.title,
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "monitoring_at": iso(min(monitoring) if monitoring else None),
        "resolved_at": iso(incident.resolved_at),
        "started_at": iso(incident.created_at),
        "shortlink": shortlink,
        "page_id": page_id,
        "incident_updates": [
            statuspage_update(theirs, update_id=str(update.id), incident_id=str(incident.id), at=update.created_at)
            for update, theirs in zip(incident.updates, ours["updates"], strict=True)
        ],
        "components": components,
    }


def statuspage_update(ours: dict[str, Any], *, update_id: str, incident_id: str, at: datetime) -> dict[str, Any]:
    """One update (of an incident or a window) in Statuspage's shape, our fields beside it."""
    return {
        **{key: value for key, value in ours.items() if key != "created_at"},
        "id": update_id,
        "incident_id": incident_id,
        "created_at": iso(at),
        "updated_at": iso(at),
        "display_at": iso(at),
        "affected_components": None,
    }


def iso(moment: datetime | None) -> str | None:
    """Statuspage's timestamps: ISO 8601 to the millisecond."""
    return moment.isoformat(timespec="milliseconds") if moment else None


def _update_json(update: IncidentUpdate) -> dict[str, Any]:
    return {
        "id": update.id,
        "status": update.status,
        "body": update.body,
        "eta": update.eta.isoformat() if update.eta else None,
        "created_at": update.created_at.isoformat(),
        "author": update.author,
    }


def _affected(components: Mapping[int, str]) -> list[AffectedService]:
    return [
        AffectedService(service_id=service_id, component_status=status) for service_id, status in components.items()
    ]
