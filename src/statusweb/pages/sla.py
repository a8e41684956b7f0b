"""SLA figures from the rollups: per service and rolling window, the uptime over the
time that was checked (maintenance excluded, like the bars), the downtime in minutes
and what is left of the error budget.

A check stands for one interval of time, so a window's checked minutes are its
up + degraded + down checks times the interval, and its downtime the down checks
times the interval. Maintenance checks count on neither side: a 2 h window with 1 h of
failures inside and 30 min outside leaves 30 min of downtime on that day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statusweb.models import RollupDaily, RollupHourly, Service
from statusweb.models.rollups import days_ago, hour_bucket

WINDOWS: tuple[tuple[str, int], ...] = (("24h", 1), ("7d", 7), ("30d", 30), ("90d", 90), ("365d", 365))
BUDGET_WARNING = 0.8  # share of the error budget spent that earns a warning


@dataclass(frozen=True)
class SlaFigure:
    window: str
    target: float  # percent
    up: int
    down: int
    interval_s: int

    @property
    def checked_minutes(self) -> float:
        return (self.up + self.down) * self.interval_s / 60

    @property
    def downtime_minutes(self) -> float:
        return self.down * self.interval_s / 60

    @property
    def uptime(self) -> float | None:
        checked = self.up + self.down
        return None if checked == 0 else 100.0 * self.up / checked

    @property
    def budget_minutes(self) -> float:
        return (100.0 - self.target) / 100.0 * self.checked_minutes

    @property
    def budget_left_minutes(self) -> float:
        return self.budget_minutes - self.downtime_minutes

    @property
    def budget_spent(self) -> float:
        """Share of the error budget used (1.0 = all of it; more when breached)."""
        if self.budget_minutes <= 0:
            return 1.0 if self.down else 0.0
        return self.downtime_minutes / self.budget_minutes

    @property
    def met(self) -> bool:
        return self.uptime is None or self.uptime >= self.target


def window_start(window: str, now: datetime) -> tuple[type, datetime]:
    """(rollup table, first bucket) for a rolling window: the last 24 hourly buckets,
    or the last N daily ones (today included)."""
    days = dict(WINDOWS)[window]
    if days == 1:
        return RollupHourly, hour_bucket(now) - timedelta(hours=23)
    return RollupDaily, days_ago(now, days)


def sla_figures(session: Session, services: Sequence[Service], now: datetime) -> dict[int, list[SlaFigure]]:
    """Every window's figure for each service that has a target, one query per window."""
    targeted = [s for s in services if s.sla_target is not None]
    figures: dict[int, list[SlaFigure]] = {s.id: [] for s in targeted}
    if not targeted:
        return figures
    for window, _ in WINDOWS:
        table, first = window_start(window, now)
        sums = _sums(session, table, [s.id for s in targeted], first, None)
        for service in targeted:
            up, down = sums.get(service.id, (0, 0))
            figures[service.id].append(SlaFigure(window, float(service.sla_target or 0), up, down, service.interval_s))
    return figures


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    first = datetime(year, month, 1, tzinfo=UTC)
    return first, first + timedelta(days=calendar.monthrange(year, month)[1])


def month_report(
    session: Session, services: Sequence[Service], year: int, month: int
) -> list[tuple[Service, SlaFigure]]:
    """Each service's figure for one calendar month (services without a target are
    measured against 0%, i.e. only reported)."""
    first, after = month_bounds(year, month)
    sums = _sums(session, RollupDaily, [s.id for s in services], first, after)
    return [
        (s, SlaFigure(f"{year:04d}-{month:02d}", float(s.sla_target or 0.0), *sums.get(s.id, (0, 0)), s.interval_s))
        for s in services
    ]


def _sums(
    session: Session, table: Any, ids: Iterable[int], first: datetime, after: datetime | None
) -> dict[int, tuple[int, int]]:
    query = (
        select(
            table.service_id,
            func.sum(table.up_count + table.degraded_count),
            func.sum(table.down_count),
        )
        .where(table.service_id.in_(list(ids)), table.bucket >= first)
        .group_by(table.service_id)
    )
    if after is not None:
        query = query.where(table.bucket < after)
    return {sid: (int(up or 0), int(down or 0)) for sid, up, down in session.execute(query)}
