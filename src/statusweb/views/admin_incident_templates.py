"""The incident templates admin: an organization's ready-made incidents (title, body,
impact, affected services), listed, added, changed and deleted, each change audited.
The new-incident form starts from one (`?template=ID`, views/admin_incidents.py)."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from statuscore import FieldError
from statusweb.models import COMPONENT_STATUSES, IMPACTS, IncidentTemplate, Organization
from statusweb.pages.queries import visible_services
from statusweb.services import incident_templates
from statusweb.services.audit import record
from statusweb.services.forms import Form
from statusweb.services.params import record_id
from statusweb.services.security import organizations_for


def templates_for(request: Request, permission: str = "view") -> list[IncidentTemplate]:
    """The templates of the organizations where the user holds `permission`."""
    return list(
        request.dbsession.scalars(
            select(IncidentTemplate)
            .where(IncidentTemplate.organization_id.in_(organizations_for(request, permission)))
            .order_by(IncidentTemplate.name)
        )
    )


def template_of(request: Request, raw_id: str | None, permission: str = "view") -> IncidentTemplate:
    """One template of the user's organizations by the id in a URL or query; 404 otherwise."""
    found = request.dbsession.get(IncidentTemplate, record_id(raw_id, "template"))
    if found is None or found.organization_id not in organizations_for(request, permission):
        raise HTTPNotFound("no such template")
    return found


@view_defaults(permission="edit")
class TemplateViews:
    def __init__(self, request: Request) -> None:
        self.request = request

    def _organizations(self) -> list[Organization]:
        owned = organizations_for(self.request, "edit")
        return list(
            self.request.dbsession.scalars(
                select(Organization).where(Organization.id.in_(owned)).order_by(Organization.slug)
            )
        )

    def _page(self, form: Form, editing: IncidentTemplate | None = None) -> dict[str, Any]:
        return {
            "title": "Incident templates",
            "templates": templates_for(self.request),
            "editing": editing,
            "form": form,
            "organizations": self._organizations(),
            "services": visible_services(self.request.dbsession),
            "impacts": IMPACTS,
            "components": COMPONENT_STATUSES,
        }

    def _read(self, editing: IncidentTemplate | None) -> tuple[Form, incident_templates.TemplateSpec | None, int]:
        """The form, checked by TemplateSpec; the organization it goes in."""
        params = self.request.POST
        form = Form()
        for key, limit in (("name", incident_templates.NAME_MAX), ("title", incident_templates.TITLE_MAX)):
            form.text(params, key, max_length=limit, one_line=True)
        form.text(params, "body", required=False, max_length=incident_templates.BODY_MAX)
        form.choice(params, "impact", IMPACTS)
        organizations = {o.slug: o.id for o in self._organizations()}
        if len(organizations) > 1:
            organization_id = organizations.get(form.choice(params, "organization", tuple(organizations)), 0)
        else:
            organization_id = next(iter(organizations.values()), 0)
        components = {}
        for service in visible_services(self.request.dbsession):
            key = f"service-{service.id}"
            value = form.values[key] = str(params.get(key, ""))
            if value and value not in COMPONENT_STATUSES:
                form.errors[key] = "Unknown component status."
            elif value:
                components[service.slug] = value
        if not form.ok or not organization_id:
            return form, None, organization_id
        try:
            spec = incident_templates.TemplateSpec(
                name=form.values["name"],
                title=form.values["title"],
                body=form.values["body"],
                impact=form.values["impact"],
                components=components,
            )
        except FieldError as exc:
            form.errors[exc.key] = exc.message
            return form, None, organization_id
        taken = incident_templates.name_taken(
            self.request.dbsession, organization_id, spec.name, editing.id if editing else None
        )
        if taken:
            form.errors["name"] = "Another template of this organization has that name."
        return form, spec, organization_id

    def _save(self, editing: IncidentTemplate | None) -> Any:
        form, spec, organization_id = self._read(editing)
        if spec is None or not form.ok:
            self.request.response.status_int = 400
            return self._page(form, editing)
        template = incident_templates.save(self.request.dbsession, editing, spec, organization_id)
        action = "template.update" if editing else "template.create"
        record(self.request, organization_id, action, template.name)
        return HTTPSeeOther(self.request.route_url("admin_incident_templates"))

    @view_config(
        route_name="admin_incident_templates",
        renderer="statusweb:templates/admin/incident_templates.pt",
        request_method="GET",
        permission="view",
    )
    def list(self) -> dict[str, Any]:
        return self._page(Form(values={"impact": "minor"}))

    @view_config(
        route_name="admin_incident_templates",
        renderer="statusweb:templates/admin/incident_templates.pt",
        request_method="POST",
    )
    def create(self) -> Any:
        return self._save(None)

    @view_config(
        route_name="admin_incident_template",
        renderer="statusweb:templates/admin/incident_templates.pt",
        request_method="GET",
        permission="view",
    )
    def edit(self) -> dict[str, Any]:
        template = template_of(self.request, self.request.matchdict["id"])
        organization = self.request.dbsession.get(Organization, template.organization_id)
        values = {
            "name": template.name,
            "title": template.title,
            "body": template.body,
            "impact": template.impact,
            "organization": organization.slug if organization else "",
        }
        services = visible_services(self.request.dbsession)
        values.update(
            {f"service-{sid}": status for sid, status in incident_templates.affected_on(template, services).items()}
        )
        return self._page(Form(values=values), template)

    @view_config(
        route_name="admin_incident_template",
        renderer="statusweb:templates/admin/incident_templates.pt",
        request_method="POST",
    )
    def update(self) -> Any:
        return self._save(template_of(self.request, self.request.matchdict["id"], "edit"))

    @view_config(route_name="admin_incident_template_delete", request_method="POST")
    def delete(self) -> HTTPSeeOther:
        template = template_of(self.request, self.request.matchdict["id"], "edit")
        self.request.dbsession.delete(template)
        record(self.request, template.organization_id, "template.delete", template.name)
        return HTTPSeeOther(self.request.route_url("admin_incident_templates"))
