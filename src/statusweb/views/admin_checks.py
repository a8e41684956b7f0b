"""The raw check history, filtered, newest first, for finding what happened when."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select

from statusweb.models import (
    Service,
)
from statusweb.models.rollups import CHECK_STATUSES
from statusweb.pages.queries import (
    CheckFilter,
    check_results,
)
from statusweb.services.forms import Form
from statusweb.services.params import MAX_BIG_ID, calendar_day, optional_id

CHECKS_PAGE_SIZE = 50


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
