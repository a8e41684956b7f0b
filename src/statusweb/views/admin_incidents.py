"""The incident admin: open, correct, update, resolve and delete incidents (through
services/incidents.py), each change audited (the public pages' cache follows the commit: edge/purge_on_commit.py)."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import (
    COMPONENT_STATUSES,
    IMPACTS,
    INCIDENT_STATUSES,
    Incident,
    IncidentNotEditable,
)
from statusweb.pages.queries import (
    visible_incident,
    visible_services,
)
from statusweb.services import incident_templates, incidents, postmortems
from statusweb.services.forms import Form, read_incident, read_update
from statusweb.services.params import optional_id
from statusweb.views.admin_incident_templates import template_of, templates_for
from statusweb.views.admin_pages import audit_on_page, page_choice, page_from_form


@view_defaults(permission="edit")
class IncidentViews:
    def __init__(self, request: Request) -> None:
        self.request = request

    def _incident(self) -> Incident:
        return visible_incident(self.request.dbsession, self.request.matchdict["id"])

    def _form_page(self, form: Form, incident: Incident | None) -> dict[str, Any]:
        services = visible_services(self.request.dbsession)
        if incident is not None:  # an incident stays on its page: so do the services it can name
            services = [service for service in services if service.page_id == incident.page_id]
        return {
            "title": incident.title if incident else "New incident",
            "form": form,
            "incident": incident,
            "services": services,
            "impacts": IMPACTS,
            "statuses": INCIDENT_STATUSES,
            "components": COMPONENT_STATUSES,
            **page_choice(self.request),
        }

    @view_config(route_name="admin_incidents", renderer="statusweb:templates/admin/incidents.pt", permission="view")
    def list(self) -> dict[str, Any]:
        rows = self.request.dbsession.scalars(
            select(Incident)
            .where(Incident.deleted.is_(False))
            .order_by((Incident.status == "resolved").asc(), Incident.created_at.desc())
            .limit(200)
        ).all()
        return {"title": "Incidents", "incidents": rows}

    @view_config(
        route_name="admin_incident_new", renderer="statusweb:templates/admin/incident_form.pt", request_method="GET"
    )
    def new(self) -> dict[str, Any]:
        """The form, empty or (`?template=ID`) filled in from one of the user's templates."""
        values = {"impact": "minor", "status": "investigating"}
        if "template" in self.request.GET:
            template = template_of(self.request, self.request.GET.get("template"))
            values = incident_templates.form_values(template, visible_services(self.request.dbsession))
        return {**self._form_page(Form(values=values), None), "templates": templates_for(self.request)}

    @view_config(
        route_name="admin_incident_new", renderer="statusweb:templates/admin/incident_form.pt", request_method="POST"
    )
    def create(self) -> Any:
        probe, page, services = page_from_form(self.request)
        form, affected = read_incident(self.request.POST, [s.id for s in services], creating=True)
        form.values.update(probe.values)
        form.errors.update(probe.errors)
        if not form.ok or page is None:
            self.request.response.status_int = 400
            return self._form_page(form, None)
        values = form.values
        incident = incidents.create(
            self.request.dbsession,
            page_id=page.row_id,
            title=values["title"],
            impact=values["impact"],
            components=affected,
            status=values["status"],
            body=values["body"],
            root_cause=values["root_cause"],
            author=self.request.identity.name,
            eta=form.parsed["eta"],
        )
        audit_on_page(self.request, incident.page_id, "incident.create", f"#{incident.id} {incident.title}")
        return HTTPSeeOther(self.request.route_url("admin_incident", id=incident.id))

    @view_config(
        route_name="admin_incident",
        renderer="statusweb:templates/admin/incident_form.pt",
        request_method="GET",
        permission="view",
    )
    def edit(self) -> dict[str, Any]:
        incident = self._incident()
        values = {
            "title": incident.title,
            "impact": incident.impact,
            "root_cause": incident.root_cause,
            **{f"service-{a.service_id}": a.component_status for a in incident.affected},
        }
        return {
            **self._form_page(Form(values=values), incident),
            "update": Form(values={"status": incident.status}),
            "postmortem": Form(values={"postmortem": incident.postmortem}),
        }

    @view_config(
        route_name="admin_incident", renderer="statusweb:templates/admin/incident_form.pt", request_method="POST"
    )
    def save(self) -> Any:
        incident = self._incident()
        services = [s for s in visible_services(self.request.dbsession) if s.page_id == incident.page_id]
        form, affected = read_incident(self.request.POST, [s.id for s in services], creating=False)
        if not form.ok:
            self.request.response.status_int = 400
            return {**self._form_page(form, incident), "update": Form(values={"status": incident.status})}
        values = form.values
        incidents.edit(
            incident,
            title=values["title"],
            impact=values["impact"],
            root_cause=values["root_cause"],
            components=affected,
        )
        audit_on_page(self.request, incident.page_id, "incident.edit", f"#{incident.id} {incident.title}")
        return HTTPSeeOther(self.request.route_url("admin_incident", id=incident.id))

    @view_config(
        route_name="admin_incident_update", renderer="statusweb:templates/admin/incident_form.pt", request_method="POST"
    )
    def post_update(self) -> Any:
        incident = self._incident()
        update = read_update(self.request.POST)
        if incident.status == "resolved":
            update.errors["status"] = "This incident is resolved and cannot be reopened; open a new one."
        if not update.ok:
            self.request.response.status_int = 400
            values = {
                "title": incident.title,
                "impact": incident.impact,
                "root_cause": incident.root_cause,
                **{f"service-{a.service_id}": a.component_status for a in incident.affected},
            }
            return {**self._form_page(Form(values=values), incident), "update": update}
        try:
            incidents.post_update(
                incident,
                status=update.values["status"],
                body=update.values["body"],
                root_cause=update.values["root_cause"],
                author=self.request.identity.name,
                eta=update.parsed["eta"],
            )
        except IncidentNotEditable:  # raced with another editor resolving it
            raise HTTPSeeOther(self.request.route_url("admin_incident", id=incident.id)) from None
        audit_on_page(
            self.request,
            incident.page_id,
            "incident.update",
            f"#{incident.id} {incident.title}: {update.values['status']}",
        )
        return HTTPSeeOther(self.request.route_url("admin_incident", id=incident.id))

    @view_config(
        route_name="admin_incident_postmortem",
        renderer="statusweb:templates/admin/incident_form.pt",
        request_method="POST",
    )
    def postmortem(self) -> Any:
        """Publish a resolved incident's postmortem (subscribers told once), or correct it."""
        incident = self._incident()
        form = Form()
        text = form.text(self.request.POST, "postmortem", max_length=postmortems.MAX_CHARACTERS)
        if incident.status != "resolved":
            form.errors["postmortem"] = "Resolve the incident first: a postmortem tells what happened."
        if not form.ok:
            self.request.response.status_int = 400
            return {**self.edit(), "postmortem": form}
        first = postmortems.publish(incident, text, author=self.request.identity.name)
        action = "incident.postmortem" if first else "incident.postmortem_corrected"
        audit_on_page(self.request, incident.page_id, action, f"#{incident.id} {incident.title}")
        return HTTPSeeOther(self.request.route_url("admin_incident", id=incident.id, _anchor="postmortem"))

    @view_config(route_name="admin_incident_delete", request_method="POST")
    def delete(self) -> HTTPSeeOther:
        """Soft delete: gone from every public page and API, kept in the database."""
        incident = self._incident()
        incident.deleted = True
        incident.updated_at = utcnow()
        audit_on_page(self.request, incident.page_id, "incident.delete", f"#{incident.id} {incident.title}")
        return HTTPSeeOther(self.request.route_url("admin_incidents"))

    @view_config(route_name="admin_incidents_resolve", request_method="POST")
    def resolve_many(self) -> HTTPSeeOther:
        ids = [number for number in map(optional_id, self.request.POST.getall("id")) if number is not None]
        now = utcnow()
        for incident in self.request.dbsession.scalars(select(Incident).where(Incident.id.in_(ids))):
            if incident.is_active:
                incidents.post_update(
                    incident, status="resolved", body="Marked as resolved.", author=self.request.identity.name, now=now
                )
                audit_on_page(self.request, incident.page_id, "incident.resolve", f"#{incident.id} {incident.title}")
        return HTTPSeeOther(self.request.route_url("admin_incidents"))
