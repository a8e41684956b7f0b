"""Read-side queries the pages and APIs share."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import CheckResultRow, Service


def latest_result_per_service(session: Session) -> dict[str, CheckResultRow]:
    """Each service's newest raw result, by slug, in one query (uses the
    (service_id, checked_at) index)."""
    newest = (select(CheckResultRow.service_id, func.max(CheckResultRow.checked_at).label("at"))
              .group_by(CheckResultRow.service_id).subquery())
    rows = session.execute(
        select(Service.slug, CheckResultRow)
        .join(newest, (CheckResultRow.service_id == newest.c.service_id)
              & (CheckResultRow.checked_at == newest.c.at))
        .join(Service, Service.id == CheckResultRow.service_id))
    return {slug: row for slug, row in rows}
