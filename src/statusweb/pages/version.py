"""A page's version: a hash of what a reader would notice (each service's shown status,
the banner, the latest incident changes, maintenance windows). `/api/live` answers it and
the status page carries it (`<main data-version>`), so an open page knows whether the copy
it fetched after a change is already the new one."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statusweb.models import Incident
from statusweb.pages.page_model import StatusPage


def page_version(session: Session, page: StatusPage, now: datetime) -> str:
    recent = session.execute(
        select(Incident.id, Incident.updated_at, Incident.deleted).order_by(Incident.updated_at.desc()).limit(20)
    ).all()
    windows = [
        (w.id, w.status, w.updated_at.isoformat(), w.starts_at <= now)
        for w in page.maintenance_now + page.maintenance_soon
    ]
    seen: list[Any] = [
        page.banner.text,
        [(row.slug, row.status) for row in page.services],
        [(i, at.isoformat(), gone) for i, at, gone in recent],
        windows,
    ]
    return hashlib.sha256(json.dumps(seen, default=str).encode()).hexdigest()[:24]
