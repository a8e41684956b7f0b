"""`/api/v1/...`: incidents and maintenance for programs (deploy pipelines, chat-ops),
with an organization's API token: `Authorization: Bearer sw_...`.

A token reads (scope read) or also writes (scope write) what belongs to its own
organization's pages, nothing else: another organization's incident is a 404, as in the
admin. No session cookie opens these routes (so they need no CSRF token); every change
goes into the audit log under the token's name.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from statuscore import FieldError, has_control_characters, utcnow
from statusweb.api.responses import json_error
from statusweb.models import (
    COMPONENT_STATUSES,
    DEFAULT_SLUG,
    IMPACTS,
    INCIDENT_STATUSES,
    ApiToken,
    Incident,
    IncidentNotEditable,
    IncidentTemplate,
    Maintenance,
    Service,
)
from statusweb.pages.queries import organization_of_rows, rows_page_id, scope_to_organizations
from statusweb.services import incident_templates, incidents, postmortems
from statusweb.services.audit import TOKEN_ACTOR, record
from statusweb.services.maintenance import (
    MaintenanceError,
    WindowPlan,
    advance_windows,
    cancel,
    create_window,
    end_now,
    maintenance_json,
    same_page,
)
from statusweb.services.organizations import valid_token
from statusweb.services.params import record_id, storable
from statusweb.views.admin_pages import audit_on_page

LIST_LIMIT = 100


class ApiRefusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@view_config(context=ApiRefusal, require_csrf=False)
def refused(exc: ApiRefusal, request: Request) -> Response:
    response = json_error(exc.status, exc.message)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="statusweb"'
    return response


def _token(request: Request, scope: str) -> ApiToken:
    """The request's token, holding `scope`; the session scoped to its organization."""
    header = request.headers.get("Authorization", "")
    kind, _, value = header.partition(" ")
    now = utcnow()
    found = valid_token(request.dbsession, value.strip(), now) if kind.lower() == "bearer" else None
    if found is None:
        raise ApiRefusal(401, "send an unexpired API token: Authorization: Bearer sw_... (Admin, API tokens)")
    if scope not in found.scopes.split(","):
        raise ApiRefusal(403, f"this token may only {found.scopes}; make a write token to change things")
    if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=1):
        found.last_used_at = now
    scope_to_organizations(request.dbsession, {found.organization_id})
    request.environ[TOKEN_ACTOR] = f"token {found.name}"
    return found


def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body) if request.body else None
    except (ValueError, UnicodeDecodeError):
        raise ApiRefusal(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiRefusal(400, "the body is a JSON object")
    return body


def _text(
    body: dict[str, Any], key: str, *, limit: int, required: bool = True, default: str = "", one_line: bool = False
) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit or not storable(value):
        raise ApiRefusal(400, f"{key}: {'required, ' if required else ''}text of at most {limit} characters")
    if one_line and has_control_characters(value.strip()):
        raise ApiRefusal(400, f"{key}: one line, without line breaks, tabs or other control characters")
    return value.strip()


def _choice(body: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = body.get(key, default)
    if value not in choices:
        raise ApiRefusal(400, f"{key}: one of {', '.join(choices)}")
    return str(value)


def _moment(body: dict[str, Any], key: str) -> datetime:
    value = body.get(key)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not 2000 <= moment.year <= 2100:
        raise ApiRefusal(400, f"{key}: an ISO 8601 time with its offset, e.g. 2026-12-01T22:00:00Z")
    return moment.astimezone(UTC)


def _writing(request: Request) -> tuple[dict[str, Any], int | None]:
    """A write: the token (scope write), its JSON body, and the page the body names."""
    token = _token(request, "write")
    body = _body(request)
    return body, _page_id(request, token, body)


def _page_id(request: Request, token: ApiToken, body: dict[str, Any]) -> int | None:
    """The page named by `page` (a slug; default: the default page), if the token's
    organization owns it; what its rows store as page_id."""
    slug = body.get("page", DEFAULT_SLUG)
    if not isinstance(slug, str) or len(slug) > 63:
        raise ApiRefusal(400, "page: a page's slug")
    try:
        page_id = rows_page_id(request.dbsession, slug)
    except LookupError:
        raise ApiRefusal(404, f"no such page: {slug}") from None
    if organization_of_rows(request.dbsession, page_id) != token.organization_id:
        raise ApiRefusal(404, f"no such page: {slug}")
    return page_id


def services_named(request: Request, page_id: int | None, slugs: Any, key: str) -> dict[str, int]:
    """slug -> id of the named services, all on the page."""
    if not isinstance(slugs, (list, dict)) or len(slugs) > 500:
        raise ApiRefusal(400, f"{key}: a list (or object) of service slugs")
    known = dict(
        request.dbsession.execute(
            select(Service.slug, Service.id).where(
                Service.slug.in_([str(s)[:100] for s in slugs]), same_page(Service, page_id)
            )
        ).all()
    )
    missing = [str(s) for s in slugs if s not in known]
    if missing:
        raise ApiRefusal(400, f"{key}: no service {missing[0][:100]!r} on this page")
    return known


def service_slugs(request: Request) -> dict[int, str]:
    return dict(request.dbsession.execute(select(Service.id, Service.slug)).all())


def _incident(request: Request) -> Incident:
    found = request.dbsession.scalars(
        select(Incident)
        .where(Incident.id == record_id(request.matchdict["id"], "incident"), Incident.deleted.is_(False))
        .options(selectinload(Incident.updates), selectinload(Incident.affected))
    ).first()
    if found is None:
        raise ApiRefusal(404, "no such incident")
    return found


def _window(request: Request) -> Maintenance:
    found = request.dbsession.scalars(
        select(Maintenance)
        .where(Maintenance.id == record_id(request.matchdict["id"], "maintenance"))
        .options(selectinload(Maintenance.affected), selectinload(Maintenance.updates))
    ).first()
    if found is None:
        raise ApiRefusal(404, "no such maintenance")
    return found


@view_config(route_name="api_v1_incidents", request_method="GET", renderer="json", require_csrf=False)
def list_incidents(request: Request) -> dict[str, Any]:
    _token(request, "read")
    rows = request.dbsession.scalars(
        select(Incident)
        .where(Incident.deleted.is_(False))
        .order_by(Incident.created_at.desc())
        .limit(LIST_LIMIT)
        .options(selectinload(Incident.updates), selectinload(Incident.affected))
    ).all()
    slugs = service_slugs(request)
    return {"incidents": [incidents.incident_json(incident, slugs, public=False) for incident in rows]}


@view_config(route_name="api_v1_incidents", request_method="POST", renderer="json", require_csrf=False)
def create_incident(request: Request) -> dict[str, Any]:
    """`template` (a template's name or id) fills in what the body leaves out."""
    body, page_id = _writing(request)
    components = _components(body)
    services = services_named(request, page_id, components, "components")
    affected = {services[slug]: status for slug, status in components.items()}
    if "template" in body:
        template = _template(request, organization_of_rows(request.dbsession, page_id), body["template"])
        body = {"title": template.title, "body": template.body, "impact": template.impact, **body}
        on_page = request.dbsession.scalars(select(Service).where(same_page(Service, page_id)))
        affected = {**incident_templates.affected_on(template, on_page), **affected}
    incident = incidents.create(
        request.dbsession,
        page_id=page_id,
        title=_text(body, "title", limit=200, one_line=True),
        impact=_choice(body, "impact", IMPACTS, "minor"),
        components=affected,
        status=_choice(body, "status", INCIDENT_STATUSES, "investigating"),
        body=_text(body, "body", limit=10_000),
        root_cause=_text(body, "root_cause", limit=5000, required=False),
        author=str(request.environ[TOKEN_ACTOR]),
    )
    audit_on_page(request, page_id, "incident.create", f"#{incident.id} {incident.title}")
    request.response.status_int = 201
    return {"incident": incidents.incident_json(incident, service_slugs(request), public=False)}


@view_config(route_name="api_v1_incident", request_method="GET", renderer="json", require_csrf=False)
def show_incident(request: Request) -> dict[str, Any]:
    _token(request, "read")
    return {"incident": incidents.incident_json(_incident(request), service_slugs(request), public=False)}


@view_config(route_name="api_v1_incident_updates", request_method="POST", renderer="json", require_csrf=False)
def update_incident(request: Request) -> dict[str, Any]:
    _token(request, "write")
    incident = _incident(request)
    body = _body(request)
    status = _choice(body, "status", INCIDENT_STATUSES, incident.status)
    try:
        incidents.post_update(
            incident,
            status=status,
            body=_text(body, "body", limit=10_000),
            root_cause=_text(body, "root_cause", limit=5000, required=False),
            author=str(request.environ[TOKEN_ACTOR]),
        )
    except IncidentNotEditable as exc:
        raise ApiRefusal(409, str(exc)) from None
    audit_on_page(request, incident.page_id, "incident.update", f"#{incident.id} {incident.title}: {status}")
    request.response.status_int = 201
    return {"incident": incidents.incident_json(incident, service_slugs(request), public=False)}


@view_config(route_name="api_v1_incident_postmortem", request_method="POST", renderer="json", require_csrf=False)
def publish_postmortem(request: Request) -> dict[str, Any]:
    """{"body": Markdown}: the first call publishes (subscribers told once), later ones correct."""
    _token(request, "write")
    incident = _incident(request)
    text = _text(_body(request), "body", limit=postmortems.MAX_CHARACTERS)
    try:
        first = postmortems.publish(incident, text, author=str(request.environ[TOKEN_ACTOR]))
    except postmortems.NotResolved as exc:
        raise ApiRefusal(409, str(exc)) from None
    action = "incident.postmortem" if first else "incident.postmortem_corrected"
    audit_on_page(request, incident.page_id, action, f"#{incident.id} {incident.title}")
    request.response.status_int = 201 if first else 200
    return {"incident": incidents.incident_json(incident, service_slugs(request), public=False)}


def _components(body: dict[str, Any]) -> dict[str, str]:
    components = body.get("components", {})
    if not isinstance(components, dict) or any(v not in COMPONENT_STATUSES for v in components.values()):
        raise ApiRefusal(400, f"components: an object of service slug -> one of {', '.join(COMPONENT_STATUSES)}")
    return components


def _template(request: Request, organization_id: int | None, wanted: Any) -> IncidentTemplate:
    """One of the organization's templates, by id (a number or a URL's) or by name."""
    by_id = isinstance(wanted, int) and not isinstance(wanted, bool)
    if not by_id and not isinstance(wanted, str):
        raise ApiRefusal(400, "template: a template's name or id")
    found = request.dbsession.scalar(
        select(IncidentTemplate).where(
            IncidentTemplate.organization_id == organization_id,
            IncidentTemplate.id == wanted if by_id else IncidentTemplate.name == wanted[: incident_templates.NAME_MAX],
        )
    )
    if found is None:
        raise ApiRefusal(404, "no such template")
    return found


@view_config(route_name="api_v1_incident_templates", request_method="GET", renderer="json", require_csrf=False)
def list_templates(request: Request) -> dict[str, Any]:
    token = _token(request, "read")
    rows = request.dbsession.scalars(
        select(IncidentTemplate)
        .where(IncidentTemplate.organization_id == token.organization_id)
        .order_by(IncidentTemplate.name)
    )
    return {"templates": [incident_templates.template_json(template) for template in rows]}


@view_config(route_name="api_v1_incident_templates", request_method="POST", renderer="json", require_csrf=False)
def create_template(request: Request) -> dict[str, Any]:
    """{name, title, body, impact, components: {slug: status}} (409 for a name in use)."""
    token = _token(request, "write")
    body = _body(request)
    components = _components(body)
    known = set(request.dbsession.scalars(select(Service.slug).where(Service.slug.in_(list(components)[:500]))))
    missing = [slug for slug in components if slug not in known]
    if missing:
        raise ApiRefusal(400, f"components: no service {str(missing[0])[:100]!r} in this organization")
    try:
        spec = incident_templates.TemplateSpec(
            name=_text(body, "name", limit=incident_templates.NAME_MAX, one_line=True),
            title=_text(body, "title", limit=incident_templates.TITLE_MAX, one_line=True),
            body=_text(body, "body", limit=incident_templates.BODY_MAX, required=False),
            impact=_choice(body, "impact", IMPACTS, "minor"),
            components=components,
        )
    except FieldError as exc:
        raise ApiRefusal(400, f"{exc.key}: {exc.message}") from None
    if incident_templates.name_taken(request.dbsession, token.organization_id, spec.name):
        raise ApiRefusal(409, "name: another template of this organization has it")
    template = incident_templates.save(request.dbsession, None, spec, token.organization_id)
    record(request, token.organization_id, "template.create", template.name)
    request.response.status_int = 201
    return {"template": incident_templates.template_json(template)}


@view_config(route_name="api_v1_incident_template", request_method="GET", renderer="json", require_csrf=False)
def show_template(request: Request) -> dict[str, Any]:
    token = _token(request, "read")
    found = _template(request, token.organization_id, record_id(request.matchdict["id"], "template"))
    return {"template": incident_templates.template_json(found)}


@view_config(route_name="api_v1_incident_template", request_method="DELETE", renderer="json", require_csrf=False)
def delete_template(request: Request) -> dict[str, Any]:
    token = _token(request, "write")
    found = _template(request, token.organization_id, record_id(request.matchdict["id"], "template"))
    request.dbsession.delete(found)
    record(request, token.organization_id, "template.delete", found.name)
    return {"deleted": found.id}


@view_config(route_name="api_v1_maintenances", request_method="GET", renderer="json", require_csrf=False)
def list_maintenance(request: Request) -> dict[str, Any]:
    _token(request, "read")
    windows = request.dbsession.scalars(
        select(Maintenance)
        .where(Maintenance.rrule == "")
        .order_by(Maintenance.starts_at.desc())
        .limit(LIST_LIMIT)
        .options(selectinload(Maintenance.affected), selectinload(Maintenance.updates))
    ).all()
    slugs = service_slugs(request)
    return {"maintenance": [maintenance_json(window, slugs, public=False) for window in windows]}


@view_config(route_name="api_v1_maintenances", request_method="POST", renderer="json", require_csrf=False)
def create_maintenance(request: Request) -> dict[str, Any]:
    body, page_id = _writing(request)
    services = services_named(request, page_id, body.get("services", []), "services")
    try:
        plan = WindowPlan(
            title=_text(body, "title", limit=200, one_line=True),
            starts_at=_moment(body, "starts_at"),
            ends_at=_moment(body, "ends_at"),
            page_id=page_id,
            description=_text(body, "description", limit=10_000, required=False),
            rrule=_text(body, "rrule", limit=500, required=False, one_line=True),
            service_ids=tuple(sorted(services.values())),
        )
        window = create_window(request.dbsession, plan, now=utcnow(), author=str(request.environ[TOKEN_ACTOR]))
    except MaintenanceError as exc:
        raise ApiRefusal(400, str(exc)) from None
    advance_windows(request.dbsession, utcnow(), author=str(request.environ[TOKEN_ACTOR]))
    audit_on_page(request, page_id, "maintenance.create", f"#{window.id} {window.title}")
    request.response.status_int = 201
    return {"maintenance": maintenance_json(window, service_slugs(request), public=False)}


@view_config(route_name="api_v1_maintenance_end", request_method="POST", renderer="json", require_csrf=False)
@view_config(route_name="api_v1_maintenance_cancel", request_method="POST", renderer="json", require_csrf=False)
def finish_maintenance(request: Request) -> dict[str, Any]:
    """End a window now (it goes on to verifying), or cancel one that has not ended."""
    _token(request, "write")
    window = _window(request)
    actor, now = str(request.environ[TOKEN_ACTOR]), utcnow()
    ending = request.matched_route.name == "api_v1_maintenance_end"
    if not window.is_open or window.is_series or (ending and window.status == "verifying"):
        raise ApiRefusal(409, f"this window is {window.status.replace('_', ' ')}")
    (end_now if ending else cancel)(window, now=now, author=actor)
    advance_windows(request.dbsession, now, author=actor)
    audit_on_page(
        request, window.page_id, "maintenance.end" if ending else "maintenance.cancel", f"#{window.id} {window.title}"
    )
    return {"maintenance": maintenance_json(window, service_slugs(request), public=False)}
