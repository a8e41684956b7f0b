"""The incident admin: dashboard, incidents, check history, users."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.security import remember
from pyramid.view import view_config, view_defaults
from sqlalchemy import func, select

from statuscore import utcnow
from statusweb.models import (
    COMPONENT_STATUSES,
    IMPACTS,
    INCIDENT_STATUSES,
    MEMBER_ROLES,
    Incident,
    IncidentNotEditable,
    Membership,
    Organization,
    OutgoingMail,
    Service,
    ServiceState,
    User,
    lease_seconds,
)
from statusweb.models.rollups import CHECK_STATUSES
from statusweb.pages.queries import (
    CheckFilter,
    check_results,
    last_heartbeat,
    members,
    silent_regions,
    stalled_duties,
    visible_incident,
    visible_services,
)
from statusweb.services import incidents
from statusweb.services.audit import record
from statusweb.services.forms import Form, read_incident, read_invitation, read_new_password, read_update, read_user
from statusweb.services.organizations import INVITATION_DAYS, join, make_invitation, organization_named
from statusweb.services.params import MAX_BIG_ID, calendar_day, optional_id, record_id
from statusweb.services.subscriptions import SubscriptionError, check_email
from statusweb.views.admin_pages import OwnerViews, audit_on_page, page_choice, page_from_form

CHECKS_PAGE_SIZE = 50


def _public_pages_changed(request: Request) -> None:
    request.registry["statusweb.page_cache"].clear()


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
    engine = request.registry["statusweb.engine"]
    beat = last_heartbeat(engine)
    ttl = lease_seconds(request.registry["statusweb.settings"].heartbeat_interval)
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
        return self._form_page(Form(values={"impact": "minor", "status": "investigating"}), None)

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
        _public_pages_changed(self.request)
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
        return {**self._form_page(Form(values=values), incident), "update": Form(values={"status": incident.status})}

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
        _public_pages_changed(self.request)
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
        _public_pages_changed(self.request)
        return HTTPSeeOther(self.request.route_url("admin_incident", id=incident.id))

    @view_config(route_name="admin_incident_delete", request_method="POST")
    def delete(self) -> HTTPSeeOther:
        """Soft delete: gone from every public page and API, kept in the database."""
        incident = self._incident()
        incident.deleted = True
        incident.updated_at = utcnow()
        audit_on_page(self.request, incident.page_id, "incident.delete", f"#{incident.id} {incident.title}")
        _public_pages_changed(self.request)
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
        _public_pages_changed(self.request)
        return HTTPSeeOther(self.request.route_url("admin_incidents"))


@view_config(route_name="admin_checks", renderer="statusweb:templates/admin/checks.pt", permission="view")
def check_history(request: Request) -> dict[str, Any]:
    """Read-only raw history with filters; keyset pagination (newest first, `before` an id)
    so the thousandth page costs what the first does, over millions of rows."""
    session = request.dbsession
    services = list(session.scalars(select(Service).order_by(Service.position)))
    form = Form()
    params = request.GET
    slug = params.get("service", "")
    status = params.get("status", "")
    form.values.update(service=slug, status=status)
    since = _day(form, params, "from")
    until = _day(form, params, "to")
    by_slug = {s.slug: s for s in services}
    if slug and slug not in by_slug:
        form.errors["service"] = "No such service."
    if status and status not in CHECK_STATUSES:
        form.errors["status"] = f"Choose one of: {', '.join(CHECK_STATUSES)}."
    before = optional_id(params.get("before"), MAX_BIG_ID)
    if params.get("before") and before is None:
        form.errors["before"] = "Not a position in the history; start again from the newest."
    rows = (
        []
        if not form.ok
        else check_results(
            session,
            CheckFilter(
                service_id=by_slug[slug].id if slug in by_slug else None,
                status=status or None,
                since=since,
                until=until + timedelta(days=1) if until else None,
                before=before,
            ),
            limit=CHECKS_PAGE_SIZE + 1,
        )
    )
    older = None
    if len(rows) > CHECKS_PAGE_SIZE:
        rows = rows[:CHECKS_PAGE_SIZE]
        older = request.current_route_url(
            _query={**{k: v for k, v in params.items() if k != "before"}, "before": rows[-1][0].id}
        )
    if not form.ok:
        request.response.status_int = 400
    return {
        "title": "Check history",
        "rows": rows,
        "older": older,
        "form": form,
        "services": services,
        "statuses": CHECK_STATUSES,
    }


def _day(form: Form, params: Any, name: str) -> datetime | None:
    value = params.get(name, "").strip()
    form.values[name] = value
    if not value:
        return None
    day = calendar_day(value)
    if day is None:
        form.errors[name] = "Write a date like 2026-02-08 (years 2000 to 9998)."
    return day


@view_defaults(permission="manage_users")
class UserViews(OwnerViews):
    """The people in the organizations you own: adding them (or inviting them by a link),
    setting their passwords, disabling and enabling them. Someone who is also in another
    organization is only yours to remove from your own; every change that takes access
    away ends the user's sessions at once."""

    def _page(
        self, form: Form | None = None, error: str | None = None, invited: str | None = None, invite: Form | None = None
    ) -> dict[str, Any]:
        session = self.request.dbsession
        rows = session.execute(
            select(User, Membership, Organization)
            .join(Membership, Membership.user_id == User.id)
            .join(Organization)
            .where(Membership.organization_id.in_(self.owned))
            .order_by(User.name, Organization.slug)
        ).all()
        people: dict[int, User] = {}
        roles: dict[int, list[tuple[Membership, Organization]]] = {}
        for user, membership, organization in rows:
            people[user.id] = user
            roles.setdefault(user.id, []).append((membership, organization))
        organizations = self._organizations()
        default = {**self._first(organizations), "role": "admin"}
        return {
            "title": "Users",
            "users": list(people.values()),
            "roles": roles,
            "roles_allowed": MEMBER_ROLES,
            "organizations": organizations,
            "form": form or Form(values=dict(default)),
            "error": error,
            "invite": invite or Form(values=dict(default)),
            "invited": invited,
            "elsewhere": self._elsewhere(list(people)),
        }

    def _elsewhere(self, user_ids: list[int]) -> set[int]:
        """Of these users, those who are also in an organization you do not own."""
        return set(
            self.request.dbsession.scalars(
                select(Membership.user_id).where(
                    Membership.user_id.in_(user_ids), Membership.organization_id.not_in(self.owned)
                )
            )
        )

    def _user(self, *, only_yours: bool = True) -> User:
        """A user in one of your organizations (and, for password and access, in none
        other); anyone else is a 404, as if there were no such user."""
        found = self.request.dbsession.get(User, record_id(self.request.matchdict["id"], "user"))
        ours = (
            found is not None
            and self.request.dbsession.scalar(
                select(Membership.id).where(Membership.user_id == found.id, Membership.organization_id.in_(self.owned))
            )
            is not None
        )
        if found is None or not ours or (only_yours and found.id in self._elsewhere([found.id])):
            raise HTTPNotFound("no such user")
        return found

    def _refuse(self, message: str, form: Form | None = None, invite: Form | None = None) -> dict[str, Any]:
        self.request.response.status_int = 400
        return self._page(form, message, invite=invite)

    def _slugs(self) -> tuple[str, ...]:
        return tuple(o.slug for o in self._organizations())

    @view_config(route_name="admin_users", renderer="statusweb:templates/admin/users.pt", request_method="GET")
    def list(self) -> dict[str, Any]:
        return self._page()

    @view_config(route_name="admin_users", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def add(self) -> Any:
        form = read_user(self.request.POST, self._slugs())
        name = form.values.get("name", "")
        if form.ok and self.request.dbsession.scalar(select(User).where(User.name == name)) is not None:
            form.errors["name"] = "That name is taken."
        if not form.ok:
            return self._refuse("Please correct the fields marked below; nothing was saved.", form)
        now = utcnow()
        role = form.values["role"]
        user = User(name=name, role="admin" if role == "owner" else "editor", created_at=now)
        user.set_password(self.request.POST["password"])
        self.request.dbsession.add(user)
        organization = organization_named(self.request.dbsession, form.values["organization"], now)
        join(self.request.dbsession, user, organization, role, now)
        record(self.request, organization.id, "member.add", f"{name} as {role}")
        return HTTPSeeOther(self.request.route_url("admin_users"))

    @view_config(route_name="admin_user_invite", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def invite(self) -> Any:
        form = read_invitation(self.request.POST, self._slugs())
        if form.values.get("email"):
            try:
                form.values["email"] = check_email(form.values["email"])
            except SubscriptionError as exc:
                form.errors["email"] = str(exc)
        if not form.ok:
            return self._refuse("The invitation was not made: correct the fields marked below.", invite=form)
        now = utcnow()
        organization = organization_named(self.request.dbsession, form.values["organization"], now)
        token = make_invitation(
            self.request.dbsession,
            organization,
            form.values["role"],
            form.values["email"],
            by=self.request.identity.name,
            now=now,
        )
        link = self.request.route_url("invitation", token=token)
        if form.values["email"]:  # the runner mails it (never this request), retrying while the server is down
            self.request.dbsession.add(
                OutgoingMail(
                    to_address=form.values["email"],
                    subject=f"Join {organization.name} on the status page",
                    body=(
                        f"{self.request.identity.name} invites you to {organization.name} as {form.values['role']}.\n\n"
                        f"Accept (once, within {INVITATION_DAYS} days):\n{link}\n\nNot expecting this? Ignore it."
                    ),
                    created_at=now,
                    attempts=0,
                )
            )
        record(self.request, organization.id, "member.invite", f"{form.values['role']} {form.values['email']}".strip())
        return self._page(invited=link)

    @view_config(route_name="admin_membership_remove", request_method="POST")
    def remove(self) -> Any:
        """Take someone out of one of your organizations (their account stays)."""
        session = self.request.dbsession
        membership = session.get(Membership, record_id(self.request.matchdict["id"], "membership"))
        if membership is None or membership.organization_id not in self.owned:
            raise HTTPNotFound("no such member")
        if membership.user_id == self.request.identity.id:
            return self._refuse("You cannot remove yourself; another owner can.")
        user = session.get(User, membership.user_id)
        session.delete(membership)
        if user is not None:
            user.end_sessions()
            record(self.request, membership.organization_id, "member.remove", user.name)
        return HTTPSeeOther(self.request.route_url("admin_users"))

    @view_config(route_name="admin_user_password", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def set_password(self) -> Any:
        user = self._user()
        form = read_new_password(self.request.POST, user.name)
        if not form.ok:
            return self._refuse(
                f"The password for {user.name} was not changed: {next(iter(form.errors.values()))}", form
            )
        user.set_password(self.request.POST["password"])  # ends the user's other sessions
        if user.id == self.request.identity.id:  # keep the admin who did it logged in
            remember(self.request, user.id)
        return HTTPSeeOther(self.request.route_url("admin_users"))

    @view_config(route_name="admin_user_disable", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def disable(self) -> Any:
        user = self._user()
        if user.id == self.request.identity.id:
            return self._refuse("You cannot disable your own account.")
        user.disabled = True
        user.end_sessions()
        return HTTPSeeOther(self.request.route_url("admin_users"))

    @view_config(route_name="admin_user_enable", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def enable(self) -> Any:
        self._user().disabled = False
        return HTTPSeeOther(self.request.route_url("admin_users"))
