"""Incident templates: written, checked and applied in one place for the admin
(views/admin_incident_templates.py, and the new-incident form) and /api/v1.

A template names its services by slug and is applied to the services of the page the
incident goes on: a slug that page does not show is skipped, so one template serves an
organization's several pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuscore import FieldError, has_control_characters, utcnow
from statusweb.models import COMPONENT_STATUSES, IMPACTS, IncidentTemplate, Service
from statusweb.services.params import storable

NAME_MAX, TITLE_MAX, BODY_MAX = 100, 200, 10_000


@dataclass(frozen=True)
class TemplateSpec:
    """A template as written, checked: FieldError(key, message) names what is wrong."""

    name: str
    title: str
    body: str = ""
    impact: str = "minor"
    components: Mapping[str, str] = field(default_factory=dict)  # service slug -> component status

    def __post_init__(self) -> None:
        for key, limit in (("name", NAME_MAX), ("title", TITLE_MAX)):
            value = getattr(self, key)
            if not value.strip():
                raise FieldError(key, "This is needed.")
            if len(value) > limit:
                raise FieldError(key, f"At most {limit} characters.")
            if has_control_characters(value):
                raise FieldError(key, "One line, please: no line breaks, tabs or other control characters.")
        if len(self.body) > BODY_MAX:
            raise FieldError("body", f"At most {BODY_MAX} characters.")
        for key in ("name", "title", "body"):
            if not storable(getattr(self, key)):
                raise FieldError(key, "This holds a character that cannot be stored (a NUL byte).")
        if self.impact not in IMPACTS:
            raise FieldError("impact", f"One of {', '.join(IMPACTS)}.")
        for slug, status in self.components.items():
            if status not in COMPONENT_STATUSES:
                raise FieldError(f"components.{slug}", f"One of {', '.join(COMPONENT_STATUSES)}.")


def save(
    session: Session,
    template: IncidentTemplate | None,
    spec: TemplateSpec,
    organization_id: int,
    now: datetime | None = None,
) -> IncidentTemplate:
    """Create (template None) or change a template; flushed, so it has its id."""
    now = now or utcnow()
    if template is None:
        template = IncidentTemplate(organization_id=organization_id, created_at=now)
        session.add(template)
    template.name, template.title, template.body, template.impact = spec.name, spec.title, spec.body, spec.impact
    template.components = json.dumps(dict(spec.components), sort_keys=True)
    template.organization_id, template.updated_at = organization_id, now
    session.flush()
    return template


def name_taken(session: Session, organization_id: int, name: str, other_than: int | None = None) -> bool:
    found = session.scalar(
        select(IncidentTemplate.id).where(
            IncidentTemplate.organization_id == organization_id, IncidentTemplate.name == name
        )
    )
    return found is not None and found != other_than


def components_of(template: IncidentTemplate) -> dict[str, str]:
    """The template's slug -> status (what a hand-edited row holds that is not, ignored)."""
    try:
        found = json.loads(template.components or "{}")
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(slug): status for slug, status in found.items() if status in COMPONENT_STATUSES}


def affected_on(template: IncidentTemplate, services: Iterable[Service]) -> dict[int, str]:
    """service id -> status for the template's services among `services` (a page's)."""
    wanted = components_of(template)
    return {service.id: wanted[service.slug] for service in services if service.slug in wanted}


def form_values(template: IncidentTemplate, services: Iterable[Service]) -> dict[str, str]:
    """The new-incident form filled in from the template."""
    values = {"title": template.title, "body": template.body, "impact": template.impact, "status": "investigating"}
    values.update({f"service-{sid}": status for sid, status in affected_on(template, services).items()})
    values["template"] = str(template.id)
    return values


def template_json(template: IncidentTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "name": template.name,
        "title": template.title,
        "body": template.body,
        "impact": template.impact,
        "components": components_of(template),
        "created_at": template.created_at.isoformat(),
        "updated_at": template.updated_at.isoformat(),
    }
