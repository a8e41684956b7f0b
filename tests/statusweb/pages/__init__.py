"""Data for page tests, written the way the runner and the admin write it."""

from __future__ import annotations

from datetime import datetime, timedelta

from statuscore import utcnow
from statusweb.models import AffectedService, Incident, RollupDaily, Service, ServiceState, get_session_factory
from statusweb.models.rollups import RollupTotals, day_bucket


def add_services(engine, *specs: tuple[str, str]) -> dict[str, int]:
    """specs: (name, last check status or "" for never checked) -> {slug: id}."""
    now = utcnow()
    ids = {}
    with get_session_factory(engine).begin() as session:
        for position, (name, status) in enumerate(specs):
            slug = name.lower().replace(" ", "-").replace(".", "-")
            service = Service(
                slug=slug,
                name=name,
                type="http",
                position=position,
                group_name="Core",
                description=f"{name} description",
                hidden=False,
                created_at=now,
                updated_at=now,
            )
            session.add(service)
            session.flush()
            ids[slug] = service.id
            if status:
                session.add(
                    ServiceState(
                        service_id=service.id,
                        status=status,
                        since=now,
                        consecutive_failures=0,
                        consecutive_successes=1,
                        flapping=False,
                        flips="",
                        last_checked_at=now - timedelta(seconds=7),
                        last_status=status,
                        last_latency_ms=123,
                        last_status_code=200 if status == "up" else 503,
                        last_error="HTTP 503 at http://10.0.0.7:8000/internal" if status == "down" else None,
                        updated_at=now,
                    )
                )
    return ids


def add_incident(
    engine,
    title: str,
    *,
    impact: str = "minor",
    status: str = "investigating",
    body: str = "We are looking into it.",
    affected: dict[int, str] | None = None,
    created: datetime | None = None,
    page_id: int | None = None,
) -> int:
    now = created or utcnow()
    with get_session_factory(engine).begin() as session:
        incident = Incident(
            title=title,
            impact=impact,
            status="investigating",
            root_cause="",
            created_at=now,
            updated_at=now,
            deleted=False,
            page_id=page_id,
        )
        session.add(incident)
        incident.post_update(status="investigating", body=body, at=now, author="ops")
        if status != "investigating":
            incident.post_update(status=status, body=f"Now {status}.", at=now + timedelta(minutes=5), author="ops")
        for service_id, component in (affected or {}).items():
            incident.affected.append(AffectedService(service_id=service_id, component_status=component))
        session.flush()
        return incident.id


def add_daily_uptime(engine, service_id: int, days: int, up: int, down: int) -> None:
    today = day_bucket(utcnow())
    with get_session_factory(engine).begin() as session:
        for offset in range(days):
            totals = RollupTotals(
                up_count=up, down_count=down, latency_count=up, latency_sum_ms=up * 100, latency_max_ms=100
            )
            session.add(
                RollupDaily(service_id=service_id, bucket=today - timedelta(days=offset), **totals.as_columns())
            )


def sync_monitors_toml(engine, path, text: str, env: dict[str, str] | None = None) -> dict[str, int]:
    """Write `text` as a monitors.toml at `path`, load it and sync it as the runner does
    at start (pages, then services); page slug -> id."""
    from sqlalchemy import select

    from statuscore import load_config
    from statusweb.models import Page
    from statusweb.runner.sql_store import SqlStore

    path.write_text(text)
    config = load_config(path, env=env or {})
    SqlStore(engine).sync_services(config.monitors, config.pages, config.groups)
    with get_session_factory(engine)() as session:
        return {slug: id_ for slug, id_ in session.execute(select(Page.slug, Page.id))}


async def record_statuses(engine, path, statuses) -> None:
    """Record one check per monitor slug of the monitors.toml at `path`, each giving the
    status it maps to, through the runner's store (services synced first, as at start)."""
    from statuscore import MonitorState, Status, load_config
    from statusweb.runner.sql_store import SqlStore
    from tests.statusweb.helpers import result

    store = SqlStore(engine)
    store.sync_services(load_config(path, env={}).monitors)
    for slug, status in statuses.items():
        checked = result(slug, status, utcnow(), error="HTTP 503" if status is Status.DOWN else None)
        await store.record(checked, MonitorState(status=status, last_result=checked), [], [])
    await store.close()
