"""The maintenance admin: plan a window (or a recurring series), edit it, post
updates, end it early or cancel it. Every change brings the lifecycle up to date at
once (advance_windows), so the public page shows it without waiting for the runner."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from statuscore import utcnow
from statusweb.models import MAINTENANCE_STATUSES, Maintenance
from statusweb.pages.queries import service_names, visible_services
from statusweb.services.forms import REPEATS, Form, read_maintenance
from statusweb.services.maintenance import (
    MaintenanceError,
    advance_windows,
    apply_plan,
    cancel,
    create_window,
    end_now,
    replan_series,
)
from statusweb.services.params import record_id
from statusweb.views.admin_pages import audit_on_page, page_choice, page_from_form

TEMPLATE = "statusweb:templates/admin/maintenance_form.pt"
UPDATE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")


def _changed(request: Request) -> None:
    """A window planned or moved on: its lifecycle caught up at once, not at the runner's next round."""
    advance_windows(request.dbsession, utcnow(), author=request.identity.name)


@view_defaults(permission="edit")
class MaintenanceViews:
    def __init__(self, request: Request) -> None:
        self.request = request

    def _window(self) -> Maintenance:
        found = self.request.dbsession.scalars(
            select(Maintenance)
            .where(Maintenance.id == record_id(self.request.matchdict["id"], "maintenance"))
            .options(selectinload(Maintenance.updates), selectinload(Maintenance.affected))
        ).first()
        if found is None:
            raise HTTPNotFound("no such maintenance")
        return found

    def _page(self, form: Form, window: Maintenance | None, update: Form | None = None) -> dict[str, Any]:
        services = visible_services(self.request.dbsession)
        if window is not None:  # a window stays on its page: so do the services it can cover
            services = [service for service in services if service.page_id == window.page_id]
        return {
            "title": window.title if window else "Plan maintenance",
            "form": form,
            "window": window,
            "services": services,
            "repeats": REPEATS,
            **page_choice(self.request),
            "update": update or Form(values={"status": window.status if window else "scheduled"}),
            "update_statuses": UPDATE_STATUSES,
        }

    def _invalid(self, form: Form, window: Maintenance | None, update: Form | None = None) -> dict[str, Any]:
        self.request.response.status_int = 400
        return self._page(form, window, update)

    @view_config(
        route_name="admin_maintenances",
        renderer="statusweb:templates/admin/maintenances.pt",
        request_method="GET",
        permission="view",
    )
    def list(self) -> dict[str, Any]:
        session = self.request.dbsession
        now = utcnow()
        windows = session.scalars(
            select(Maintenance)
            .where(Maintenance.ends_at >= now - timedelta(days=30))
            .options(selectinload(Maintenance.affected))
            .order_by(Maintenance.starts_at.asc())
            .limit(300)
        ).all()
        return {
            "title": "Maintenance",
            "windows": windows,
            "names": service_names(session),
            "statuses": MAINTENANCE_STATUSES,
        }

    @view_config(route_name="admin_maintenance_new", renderer=TEMPLATE, request_method="GET")
    def new(self) -> dict[str, Any]:
        start = (utcnow() + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        return self._page(
            Form(
                values={
                    "starts_at": f"{start:%Y-%m-%dT%H:%M}",
                    "repeat": "none",
                    "ends_at": f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M}",
                }
            ),
            None,
        )

    @view_config(route_name="admin_maintenance_new", renderer=TEMPLATE, request_method="POST")
    def create(self) -> Any:
        probe, page, services = page_from_form(self.request)
        form = read_maintenance(self.request.POST, [s.id for s in services])
        form.values.update(probe.values)
        form.errors.update(probe.errors)
        if not form.ok or page is None:
            return self._invalid(form, None)
        plan = replace(form.parsed["plan"], page_id=page.row_id)
        window = create_window(self.request.dbsession, plan, now=utcnow(), author=self.request.identity.name)
        audit_on_page(self.request, window.page_id, "maintenance.create", f"#{window.id} {window.title}")
        _changed(self.request)
        return HTTPSeeOther(self.request.route_url("admin_maintenance", id=window.id))

    @view_config(route_name="admin_maintenance", renderer=TEMPLATE, request_method="GET", permission="view")
    def edit(self) -> dict[str, Any]:
        window = self._window()
        values = {
            "title": window.title,
            "description": window.description,
            "starts_at": f"{window.starts_at:%Y-%m-%dT%H:%M}",
            "ends_at": f"{window.ends_at:%Y-%m-%dT%H:%M}",
            "repeat": "custom" if window.rrule else "none",
            "rrule": window.rrule,
            "service": [str(a.service_id) for a in window.affected],
        }
        return self._page(Form(values=values), window)

    @view_config(route_name="admin_maintenance", renderer=TEMPLATE, request_method="POST")
    def save(self) -> Any:
        window = self._window()
        if not window.is_open:
            form = Form(errors={"title": "This window is over (completed or cancelled) and cannot change."})
            return self._invalid(form, window)
        form = read_maintenance(
            self.request.POST, [s.id for s in visible_services(self.request.dbsession) if s.page_id == window.page_id]
        )
        if form.ok and bool(form.parsed["plan"].rrule) != window.is_series:
            form.errors["repeat"] = "A single window cannot become a series (or back): plan a new one."
        if not form.ok:
            return self._invalid(form, window)
        now = utcnow()
        try:
            apply_plan(self.request.dbsession, window, form.parsed["plan"], now=now)
        except MaintenanceError as exc:
            form.errors["service"] = str(exc)
            return self._invalid(form, window)
        if window.is_series:
            replan_series(self.request.dbsession, window, now)
        audit_on_page(self.request, window.page_id, "maintenance.edit", f"#{window.id} {window.title}")
        _changed(self.request)
        return HTTPSeeOther(self.request.route_url("admin_maintenance", id=window.id))

    @view_config(route_name="admin_maintenance_update", renderer=TEMPLATE, request_method="POST")
    def post_update(self) -> Any:
        window = self._window()
        update = Form()
        status = update.choice(self.request.POST, "status", UPDATE_STATUSES)
        body = update.text(self.request.POST, "body", max_length=10_000)
        if not window.is_open or window.is_series:
            update.errors["status"] = "Updates go on an open window, not a finished one or a series."
        if not update.ok:
            return self._invalid(Form(values={"title": window.title}), window, update)
        window.post_update(status=status, body=body, at=utcnow(), author=self.request.identity.name)
        audit_on_page(self.request, window.page_id, "maintenance.update", f"#{window.id} {window.title}: {status}")
        return HTTPSeeOther(self.request.route_url("admin_maintenance", id=window.id))

    @view_config(route_name="admin_maintenance_cancel", request_method="POST")
    def cancel(self) -> HTTPSeeOther:
        window = self._window()
        now = utcnow()
        if window.is_open:
            cancel(window, now=now, author=self.request.identity.name)
            if window.is_series:  # and every occurrence still to come
                for later in self.request.dbsession.scalars(
                    select(Maintenance).where(Maintenance.series_id == window.id, Maintenance.status == "scheduled")
                ):
                    cancel(later, now=now, author=self.request.identity.name)
            audit_on_page(self.request, window.page_id, "maintenance.cancel", f"#{window.id} {window.title}")
        _changed(self.request)
        return HTTPSeeOther(self.request.route_url("admin_maintenances"))

    @view_config(route_name="admin_maintenance_end", request_method="POST")
    def end(self) -> HTTPSeeOther:
        window = self._window()
        if window.is_open and not window.is_series and window.status != "verifying":
            end_now(window, now=utcnow(), author=self.request.identity.name)
            audit_on_page(self.request, window.page_id, "maintenance.end", f"#{window.id} {window.title}")
        _changed(self.request)
        return HTTPSeeOther(self.request.route_url("admin_maintenance", id=window.id))
