"""The monitors file into the database: `page` and `service` made to match monitors.toml
at every start (new slugs added, names, groups and pages updated, retired ones hidden,
never deleted: their history stays), and `service_group` to its [[group]] tables (a
group no longer described is deleted: it holds no history). Runners started together
take turns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from statuscore import GroupSpec, Monitor, PageSpec
from statusweb.models import (
    DEFAULT_SLUG,
    Service,
    ServiceGroup,
)
from statusweb.runner.pages import sync_pages
from statusweb.runner.pushes import token_hash

SYNC_LOCK_KEY = 0x53796E63  # "Sync": the monitors file's sync, one runner at a time (PostgreSQL)


def sync_services(
    session_factory: Any,
    monitors: Sequence[Monitor],
    pages: Sequence[PageSpec],
    now: datetime,
    groups: Sequence[GroupSpec] | None = None,
) -> dict[str, int]:
    """Make `page`, `service` and `service_group` match monitors.toml (groups: None leaves
    `service_group` alone); every slug's service id."""
    with session_factory.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Runners started together take turns: the next one finds the rows made,
            # instead of inserting the same slugs and failing at commit.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK_KEY})
        page_ids = sync_pages(session, pages, now)
        existing = {service.slug: service for service in session.scalars(select(Service))}
        for position, monitor in enumerate(monitors):
            page_id = None if monitor.page in ("", DEFAULT_SLUG) else page_ids[monitor.page]
            values = {
                "name": monitor.name,
                "type": monitor.type,
                "position": position,
                "page_id": page_id,
                "group_name": monitor.group,
                "description": monitor.description,
                "hidden": False,
                "interval_s": round(monitor.interval),
                "sla_target": monitor.sla,
                "push_token_hash": push_token_hash(monitor),
                "public": monitor.public,
                "public_degraded": monitor.public_degraded,
                "depends_on_slugs": " ".join(monitor.depends_on),
                "third_party": monitor.third_party,
            }
            service = existing.pop(monitor.slug, None)
            if service is None:
                session.add(Service(slug=monitor.slug, created_at=now, updated_at=now, **values))
            elif any(getattr(service, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(service, key, value)
                service.updated_at = now
        if groups is not None:
            sync_groups(session, groups, now)
        for retired in existing.values():
            if not retired.hidden or retired.push_token_hash:
                retired.hidden = True
                retired.push_token_hash = None  # its token no longer opens anything
                retired.updated_at = now
    with session_factory() as session:
        return {slug: id_ for slug, id_ in session.execute(select(Service.slug, Service.id))}


def push_token_hash(monitor: Monitor) -> str | None:
    token = getattr(monitor.options, "token", None) if monitor.type == "push" else None
    return token_hash(token) if isinstance(token, str) else None


def sync_groups(session: Any, groups: Sequence[GroupSpec], now: datetime) -> None:
    """`service_group` as the [[group]] tables say: added, changed, or deleted."""
    rows = {row.name: row for row in session.scalars(select(ServiceGroup))}
    for group in groups:
        row = rows.pop(group.name, None)
        if row is None:
            session.add(
                ServiceGroup(name=group.name, description=group.description, collapsed=group.collapsed, updated_at=now)
            )
        elif (row.description, row.collapsed) != (group.description, group.collapsed):
            row.description, row.collapsed, row.updated_at = group.description, group.collapsed, now
    for gone in rows.values():
        session.delete(gone)
