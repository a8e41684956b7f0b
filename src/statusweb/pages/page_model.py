"""What the public pages show, computed from state, rollups and incidents (never from
raw history): one service's shown status is the worse of its checks' and of any
active incident's; the banner sums them up."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from statusweb.models import Incident, Maintenance, RollupDaily, RollupHourly, Service, ServiceState
from statusweb.models.rollups import CHECK_STATUSES, PASSING, RollupTotals, day_bucket, uptime_level, uptime_percent
from statusweb.pages.charts import RANGES, LatencyPoint
from statusweb.pages.dependencies import AFFECTED_STATUSES, needed_down
from statusweb.pages.groups import GroupView, group_views
from statusweb.pages.histories import ServiceHistories
from statusweb.pages.queries import active_incidents, visible_services
from statusweb.services.maintenance import active_windows, under_maintenance

# Public component statuses, worst last (Statuspage's value set).
SEVERITY = {"operational": 0, "under_maintenance": 1, "degraded_performance": 2, "partial_outage": 3, "major_outage": 4}
LABELS = {
    "operational": "Operational",
    "under_maintenance": "Under Maintenance",
    "degraded_performance": "Degraded Performance",
    "partial_outage": "Partial Outage",
    "major_outage": "Major Outage",
    "unknown": "No Data Yet",
}
FROM_CHECKS = {
    "up": "operational",
    "degraded": "degraded_performance",
    "down": "major_outage",
    "maintenance": "under_maintenance",
}
WAITING_FOR_PUSH = "Waiting for First Push"
BAR_DAYS = 90
UPCOMING = timedelta(days=7)  # maintenance announced this far ahead on the page


@dataclass(frozen=True)
class Banner:
    key: str
    text: str


# An incident's impact colours its days like the checks would (minor: amber, major:
# orange, critical: red), even when the checks were green that day.
IMPACT_LEVELS = {"none": "up", "minor": "degraded", "major": "partial", "critical": "down"}
LEVEL_ORDER = ("none", "up", "maintenance", "degraded", "partial", "down")
LEVEL_WORDS = {
    "none": "no data",
    "up": "operational",
    "maintenance": "maintenance",
    "degraded": "degraded",
    "partial": "partial outage",
    "down": "major outage",
}


def _english(text: str, **values: Any) -> str:
    return text.format(**values) if values else text


@dataclass(frozen=True)
class DayBar:
    """One day of a service's bar, with what its tooltip says."""

    day: datetime
    uptime: float | None
    down_minutes: float = 0.0
    incidents: tuple[tuple[str, str], ...] = ()  # (title, impact)
    maintenance: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        """The worst of the checks' level and the day's incidents' impact."""
        levels = [IMPACT_LEVELS.get(impact, "degraded") for _, impact in self.incidents]
        if self.uptime is not None:
            levels.append(uptime_level(self.uptime))
        elif self.maintenance:
            levels.append("maintenance")
        return max(levels, key=LEVEL_ORDER.index, default="none")

    @property
    def title(self) -> str:
        shown = "no data" if self.uptime is None else f"{self.uptime:.2f}% up"
        return f"{self.day:%b %d} {shown}"

    @property
    def details(self) -> list[str]:
        """The tooltip's lines, in English."""
        return self.describe(_english, lambda moment, pattern: f"{moment:%a %b %d}")

    def describe(self, translate: Callable[..., str], when: Callable[[datetime, str], str]) -> list[str]:
        """The tooltip's lines in the reader's language (`translate` and `when` from i18n)."""
        figures = (
            translate("no data")
            if self.uptime is None
            else translate(
                "{uptime}% up, {minutes} min down", uptime=f"{self.uptime:.2f}", minutes=f"{self.down_minutes:.0f}"
            )
        )
        lines = [f"{when(self.day, 'EEE MMM d')}: {figures}"]
        lines += [
            translate("Incident ({impact}): {title}", impact=translate(impact), title=title)
            for title, impact in self.incidents
        ]
        lines += [translate("Maintenance: {title}", title=title) for title in self.maintenance]
        lines.append(translate("Worst: {level}", level=translate(LEVEL_WORDS[self.level])))
        return lines


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
    measured_days: dict[int, int] = field(default_factory=dict)  # of those spans, days with data
    bars: list[DayBar] = field(default_factory=list)
    # its bars.pt, written once per (language, name) while its history is kept (bar_strips.py)
    fragments: dict[tuple[str, str], str] = field(default_factory=dict)

    waiting_for_push: bool = False  # a push monitor before its first push: no verdict yet
    # down with services it depends on: their names ("" for one that is not public)
    affected_by: list[str] = field(default_factory=list)
    today_counted: bool = False  # its history has today's checks (else it is read again once they come)
    third_party: bool = False  # a vendor's status: not counted in the page's banner

    @property
    def affected_names(self) -> str:
        """ "Database, Cache": the public ones of `affected_by`."""
        return ", ".join(name for name in self.affected_by if name)

    @property
    def label(self) -> str:
        return WAITING_FOR_PUSH if self.status == "unknown" and self.waiting_for_push else LABELS[self.status]


@dataclass
class StatusPage:
    banner: Banner
    groups: list[GroupView]
    active_incidents: list[Incident]
    recent_incidents: list[Incident]
    updated_at: datetime | None
    generated_at: datetime
    maintenance_now: list[Maintenance] = field(default_factory=list)
    maintenance_soon: list[Maintenance] = field(default_factory=list)
    shown: list[Service] = field(default_factory=list)  # the services behind the rows, read once

    @property
    def services(self) -> list[ServiceRow]:
        return [row for group in self.groups for row in group.rows]


def worst_status(statuses: Iterable[str]) -> str:
    """The most severe of `statuses`; "unknown" only when nothing is known."""
    known = [status for status in statuses if status in SEVERITY]
    return max(known, key=SEVERITY.__getitem__) if known else "unknown"


def shown_status(checked: str | None, incident_statuses: Iterable[str]) -> str:
    """The worse of what the checks say and what active incidents set."""
    statuses = [FROM_CHECKS[checked]] if checked in FROM_CHECKS else []
    return worst_status([*statuses, *incident_statuses])


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


def build_status_page(
    session: Session,
    now: datetime,
    *,
    recent_days: int = 14,
    with_bars: bool = True,
    histories: ServiceHistories | None = None,
) -> StatusPage:
    """Everything a public answer shows; `with_bars=False` skips the 90 daily bars
    (the JSON API has no use for them); `histories` keeps the services' histories."""
    services = visible_services(session, with_state=True, public_only=True)
    incidents = active_incidents(session)
    windows = active_windows(session, now, ahead=UPCOMING)
    rows = service_rows(session, services, incidents, now, with_bars=with_bars, windows=windows, histories=histories)
    rows.sort(key=lambda row: row.third_party)  # vendors after our own (a stable sort)
    recent = list(
        session.scalars(
            select(Incident)
            .where(
                Incident.status == "resolved",
                Incident.deleted.is_(False),
                Incident.resolved_at >= now - timedelta(days=recent_days),
            )
            .options(selectinload(Incident.updates))
            .order_by(Incident.resolved_at.desc())
            .limit(10)
        )
    )
    checked = [row.checked_at for row in rows if row.checked_at]
    return StatusPage(
        banner=banner_for((row.status for row in rows if not row.third_party), incidents),
        groups=group_views(session, rows, worst_status, LABELS),
        active_incidents=incidents,
        recent_incidents=recent,
        updated_at=max(checked) if checked else None,
        generated_at=now,
        maintenance_now=[w for w in windows if w.starts_at <= now],
        maintenance_soon=[w for w in windows if w.starts_at > now],
        shown=services,
    )


def service_rows(
    session: Session,
    services: list[Service],
    incidents: list[Incident],
    now: datetime,
    *,
    with_bars: bool = True,
    windows: list[Maintenance] | None = None,
    histories: ServiceHistories | None = None,
) -> list[ServiceRow]:
    """Each service's row; inside a maintenance window it shows "Under Maintenance" at
    once (its checks say so too, from their next run)."""
    by_incident: dict[int, list[str]] = {}
    for incident in incidents:
        for affected in incident.affected:
            by_incident.setdefault(affected.service_id, []).append(affected.component_status)
    everything, in_window = under_maintenance(windows if windows is not None else active_windows(session, now), now)
    history = service_histories(session, services, now, with_bars, histories)
    causes = needed_down(session, services)
    rows = []
    for service in services:
        state: ServiceState | None = service.state
        checked = state.last_status if state else None
        if checked == "degraded" and not service.public_degraded:
            checked = "up"  # its DEGRADED is for operators (tls_cert: expiring soon); the admin says so
        if everything or service.id in in_window:
            checked = "maintenance"  # what its checks will say; an incident still shows over it
        rows.append(
            ServiceRow(
                slug=service.slug,
                name=service.name,
                group=service.group_name,
                description=service.description,
                status=shown_status(checked, by_incident.get(service.id, [])),
                latency_ms=state.last_latency_ms if state and checked in PASSING else None,
                checked_at=state.last_checked_at if state else None,
                waiting_for_push=service.type == "push" and checked in (None, "unknown"),
                affected_by=causes.get(service.id, []) if checked in AFFECTED_STATUSES else [],
                third_party=service.third_party,
                **history[service.id],
            )
        )
    return rows


def service_histories(
    session: Session, services: list[Service], now: datetime, with_bars: bool, kept: ServiceHistories | None
) -> dict[int, dict[str, Any]]:
    """Each service's uptime figures (and bars), by id: those `kept` still has, the
    others from the rollups (and then kept)."""
    today = day_bucket(now)
    keys = {service.id: (service.id, service.interval_s, today, with_bars) for service in services}
    found = kept.fresh(list(keys.values())) if kept is not None else {}
    for service in services:  # kept before today's first check: today's bar comes as soon as there is one
        history = found.get(keys[service.id])
        state = service.state
        if (
            history is not None
            and not history["today_counted"]
            and state is not None
            and state.last_status in CHECK_STATUSES
            and state.last_checked_at is not None
            and state.last_checked_at >= today
        ):
            del found[keys[service.id]]
    missing = [service for service in services if keys[service.id] not in found]
    if missing:
        first_day = today - timedelta(days=BAR_DAYS - 1)
        daily = _daily_counts(session, missing, first_day)
        marks = day_marks(session, missing, first_day, now) if with_bars else {}
        computed = {
            keys[service.id]: _history(
                daily.get(service.id, {}), marks.get(service.id) if with_bars else None, service.interval_s, now
            )
            for service in missing
        }
        if kept is not None:
            kept.keep(computed, today)
        found = {**found, **computed}
    return {service_id: found[key] for service_id, key in keys.items()}


def _daily_counts(
    session: Session, services: list[Service], first_day: datetime
) -> dict[int, dict[datetime, tuple[int, int, int]]]:
    """(up, degraded, down) per service and day since `first_day`."""
    daily: dict[int, dict[datetime, tuple[int, int, int]]] = {}
    counts = session.execute(
        select(
            RollupDaily.service_id,
            RollupDaily.bucket,
            RollupDaily.up_count,
            RollupDaily.degraded_count,
            RollupDaily.down_count,
        ).where(RollupDaily.bucket >= first_day, RollupDaily.service_id.in_([s.id for s in services]))
    )
    for service_id, bucket, up, degraded, down in counts:  # plain tuples: 13,500 rows stay cheap
        daily.setdefault(service_id, {})[bucket] = (up, degraded, down)
    return daily


def _history(
    days: dict[datetime, tuple[int, int, int]], marks: DayMarks | None, interval_s: int, now: datetime
) -> dict[str, Any]:
    """A row's uptime figures (and its bars, when `marks` are given)."""
    since = {span: day_bucket(now) - timedelta(days=span - 1) for span in (30, 60, 90)}
    history: dict[str, Any] = {
        "today_counted": day_bucket(now) in days,
        "uptime": {span: _uptime(days, first) for span, first in since.items()},
        "measured_days": {span: sum(1 for day in days if day >= first) for span, first in since.items()},
    }
    if marks is not None:
        incidents_by_day, maintenance_by_day = marks
        history["fragments"] = {}  # shared by every row made from this history while it is kept
        history["bars"] = [
            _bar(days, day, interval_s, incidents_by_day.get(day, ()), maintenance_by_day.get(day, ()))
            for day in (since[90] + timedelta(days=offset) for offset in range(BAR_DAYS))
        ]
    return history


def _bar(
    days: dict[datetime, tuple[int, int, int]],
    day: datetime,
    interval_s: int,
    incidents: tuple[tuple[str, str], ...],
    maintenance: tuple[str, ...],
) -> DayBar:
    counts = days.get(day)
    if counts is None:
        return DayBar(day, None, incidents=incidents, maintenance=maintenance)
    return DayBar(
        day,
        uptime_percent(*counts),
        down_minutes=counts[2] * interval_s / 60,
        incidents=incidents,
        maintenance=maintenance,
    )


DayMarks = tuple[dict[datetime, tuple[tuple[str, str], ...]], dict[datetime, tuple[str, ...]]]


def day_marks(session: Session, services: list[Service], first_day: datetime, now: datetime) -> dict[int, DayMarks]:
    """Per service: the incidents (title, impact) and maintenance titles of each day since
    `first_day` (every day an incident was open or a window ran)."""
    incidents = session.scalars(
        select(Incident)
        .where(Incident.deleted.is_(False), or_(Incident.resolved_at.is_(None), Incident.resolved_at >= first_day))
        .options(selectinload(Incident.affected))
    ).all()
    windows = session.scalars(
        select(Maintenance)
        .where(
            Maintenance.rrule == "",
            Maintenance.status != "cancelled",
            Maintenance.ends_at >= first_day,
            Maintenance.starts_at <= now,
        )
        .options(selectinload(Maintenance.affected))
    ).all()
    ids = [s.id for s in services]
    marks: dict[int, DayMarks] = {sid: ({}, {}) for sid in ids}
    for incident in incidents:
        for affected in incident.affected:
            if affected.service_id in marks:
                for day in _days(max(incident.created_at, first_day), incident.resolved_at or now):
                    by_day = marks[affected.service_id][0]
                    by_day[day] = by_day.get(day, ()) + ((incident.title, incident.impact),)
    for window in windows:
        touched = ids if window.all_services else [a.service_id for a in window.affected if a.service_id in marks]
        for service_id in touched:
            for day in _days(max(window.starts_at, first_day), min(window.ends_at, now)):
                by_day_titles = marks[service_id][1]
                by_day_titles[day] = by_day_titles.get(day, ()) + (window.title,)
    return marks


def _days(start: datetime, end: datetime) -> list[datetime]:
    first, last = day_bucket(start), day_bucket(end)
    return [first + timedelta(days=n) for n in range(max(0, (last - first).days) + 1)]


def _uptime(days: dict[datetime, tuple[int, int, int]], since: datetime) -> float | None:
    chosen = [counts for day, counts in days.items() if day >= since]
    return uptime_percent(sum(c[0] for c in chosen), sum(c[1] for c in chosen), sum(c[2] for c in chosen))


def latency_points(session: Session, service_id: int, now: datetime, range_key: str) -> list[LatencyPoint]:
    """p50 and p95 per hour (24 h, 7 d) or per day (30 d), from the rollups' histograms."""
    span, unit = RANGES[range_key]
    model: Any = RollupDaily if unit == "day" else RollupHourly
    rows = session.scalars(
        select(model).where(model.service_id == service_id, model.bucket >= now - span).order_by(model.bucket)
    )
    points = []
    for row in rows:
        totals = RollupTotals.from_columns(row)
        if totals.latency_count:
            points.append(LatencyPoint(row.bucket, totals.p50_ms, totals.p95_ms))
    return points
