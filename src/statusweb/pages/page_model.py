"""What the public pages show, computed from state, rollups and incidents (never from
raw history): one service's shown status is the worse of its checks' and of any
active incident's; the banner sums them up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from statusweb.models import Incident, RollupDaily, RollupHourly, Service, ServiceState
from statusweb.models.rollups import PASSING, day_bucket, uptime_level, uptime_percent
from statusweb.pages.queries import visible_services

# Public component statuses, worst last (Statuspage's value set).
SEVERITY = {"operational": 0, "under_maintenance": 1, "degraded_performance": 2, "partial_outage": 3,
            "major_outage": 4}
LABELS = {"operational": "Operational", "under_maintenance": "Under Maintenance",
          "degraded_performance": "Degraded Performance", "partial_outage": "Partial Outage",
          "major_outage": "Major Outage", "unknown": "No Data Yet"}
FROM_CHECKS = {"up": "operational", "degraded": "degraded_performance", "down": "major_outage",
               "maintenance": "under_maintenance"}
BAR_DAYS = 90


@dataclass(frozen=True)
class Banner:
    key: str
    text: str


@dataclass(frozen=True)
class DayBar:
    day: datetime
    uptime: float | None

    @property
    def level(self) -> str:
        if self.uptime is None:
            return "none"
        return uptime_level(self.uptime)

    @property
    def title(self) -> str:
        shown = "no data" if self.uptime is None else f"{self.uptime:.2f}%"
        return f"{self.day:%b %d} {shown}"


@dataclass
class ServiceRow:
    slug: str
    name: str
    group: str
    description: str
    status: str
    latency_ms: int | None
    checked_at: datetime | None
    uptime: dict[int, float | None] = field(default_factory=dict)
    bars: list[DayBar] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.status]


@dataclass
class StatusPage:
    banner: Banner
    groups: list[tuple[str, list[ServiceRow]]]
    active_incidents: list[Incident]
    recent_incidents: list[Incident]
    updated_at: datetime | None
    generated_at: datetime

    @property
    def services(self) -> list[ServiceRow]:
        return [row for _, rows in self.groups for row in rows]


def shown_status(checked: str | None, incident_statuses: Iterable[str]) -> str:
    """The worse of what the checks say and what active incidents set."""
    statuses = [FROM_CHECKS[checked]] if checked in FROM_CHECKS else []
    statuses += list(incident_statuses)
    if not statuses:
        return "unknown"
    return max(statuses, key=SEVERITY.__getitem__)


def banner_for(statuses: Iterable[str], incidents: Iterable[Incident]) -> Banner:
    statuses = set(statuses)
    impacts = {incident.impact for incident in incidents}
    if "major_outage" in statuses or impacts & {"major", "critical"}:
        return Banner("major", "Major Outage")
    if "partial_outage" in statuses or "minor" in impacts:
        return Banner("partial", "Partial Outage")
    if "degraded_performance" in statuses:
        return Banner("degraded", "Degraded Performance")
    if "under_maintenance" in statuses:
        return Banner("maintenance", "Under Maintenance")
    return Banner("operational", "All Systems Operational")


def active_incidents(session: Session) -> list[Incident]:
    return list(session.scalars(
        select(Incident).where(Incident.status != "resolved", Incident.deleted.is_(False))
        .options(selectinload(Incident.updates), selectinload(Incident.affected))
        .order_by(Incident.created_at.desc())))


def build_status_page(session: Session, now: datetime, *, recent_days: int = 14,
                      with_bars: bool = True) -> StatusPage:
    """Everything a public answer shows; `with_bars=False` skips the 90 daily bars
    (the JSON API has no use for them)."""
    services = visible_services(session, with_state=True)
    incidents = active_incidents(session)
    rows = service_rows(session, services, incidents, now, with_bars=with_bars)
    groups: dict[str, list[ServiceRow]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    recent = list(session.scalars(
        select(Incident).where(Incident.status == "resolved", Incident.deleted.is_(False),
                               Incident.resolved_at >= now - timedelta(days=recent_days))
        .options(selectinload(Incident.updates)).order_by(Incident.resolved_at.desc()).limit(10)))
    checked = [row.checked_at for row in rows if row.checked_at]
    return StatusPage(banner=banner_for((row.status for row in rows), incidents),
                      groups=list(groups.items()), active_incidents=incidents, recent_incidents=recent,
                      updated_at=max(checked) if checked else None, generated_at=now)


def service_rows(session: Session, services: list[Service], incidents: list[Incident],
                 now: datetime, *, with_bars: bool = True) -> list[ServiceRow]:
    by_incident: dict[int, list[str]] = {}
    for incident in incidents:
        for affected in incident.affected:
            by_incident.setdefault(affected.service_id, []).append(affected.component_status)
    first_day = day_bucket(now) - timedelta(days=BAR_DAYS - 1)
    daily: dict[int, dict[datetime, tuple[int, int, int]]] = {}
    counts = session.execute(
        select(RollupDaily.service_id, RollupDaily.bucket, RollupDaily.up_count, RollupDaily.degraded_count,
               RollupDaily.down_count)
        .where(RollupDaily.bucket >= first_day, RollupDaily.service_id.in_([s.id for s in services])))
    for service_id, bucket, up, degraded, down in counts:  # plain tuples: 13,500 rows stay cheap
        daily.setdefault(service_id, {})[bucket] = (up, degraded, down)
    rows = []
    for service in services:
        state: ServiceState | None = service.state
        checked = state.last_status if state else None
        days = daily.get(service.id, {})
        rows.append(ServiceRow(
            slug=service.slug, name=service.name, group=service.group_name,
            description=service.description,
            status=shown_status(checked, by_incident.get(service.id, [])),
            latency_ms=state.last_latency_ms if state and checked in PASSING else None,
            checked_at=state.last_checked_at if state else None,
            uptime={span: _uptime(days, day_bucket(now) - timedelta(days=span - 1)) for span in (30, 60, 90)},
            bars=[_bar(days, first_day + timedelta(days=offset)) for offset in range(BAR_DAYS)]
            if with_bars else [],
        ))
    return rows


def _bar(days: dict[datetime, tuple[int, int, int]], day: datetime) -> DayBar:
    counts = days.get(day)
    return DayBar(day, None if counts is None else uptime_percent(*counts))


def _uptime(days: dict[datetime, tuple[int, int, int]], since: datetime) -> float | None:
    chosen = [counts for day, counts in days.items() if day >= since]
    return uptime_percent(sum(c[0] for c in chosen), sum(c[1] for c in chosen), sum(c[2] for c in chosen))


def hourly_latency(session: Session, service_id: int, now: datetime, hours: int = 72) -> list[tuple[datetime, float]]:
    """(hour, mean latency ms) for a service's recent hours, from the hourly rollups."""
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    rows = session.scalars(select(RollupHourly).where(RollupHourly.service_id == service_id,
                                                      RollupHourly.bucket >= since)
                           .order_by(RollupHourly.bucket))
    return [(r.bucket, r.latency_sum_ms / r.latency_count) for r in rows if r.latency_count]


