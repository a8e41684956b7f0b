"""Hourly and daily rollups: what pages read instead of raw history.

A rollup is a sum, so adding a batch of results to it gives exactly what recomputing
it from the raw rows would. Latency percentiles come from a histogram over fixed bands
(kept in the row), so p95 stays right as rows merge; it is reported as the band's
upper edge (or the bucket's max, in the last band).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from statuscore import Status

LATENCY_BANDS_MS = (25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000)
# One integer column per band ("latency_le_25" ... "latency_le_inf"), so SQL can SUM them.
HISTOGRAM_COLUMNS = tuple(f"latency_le_{edge}" for edge in LATENCY_BANDS_MS) + ("latency_le_inf",)
# What a recorded check can say (statuscore's Status values), and which of those passed.
CHECK_STATUSES = tuple(status.value for status in (Status.UP, Status.DEGRADED, Status.DOWN, Status.MAINTENANCE))
PASSING = frozenset({Status.UP.value, Status.DEGRADED.value})
_STATUS_FIELDS = {status: f"{status}_count" for status in CHECK_STATUSES}
# The columns a new batch is added to (latency_max_ms takes the larger instead).
SUMMED_COLUMNS = (*_STATUS_FIELDS.values(), "latency_count", "latency_sum_ms", *HISTOGRAM_COLUMNS)
# Uptime at or above GOOD is green, at or above FAIR amber, below it red (page bars, badges).
UPTIME_GOOD = 99.9
UPTIME_FAIR = 99.0


def uptime_level(percent: float) -> str:
    """ "up", "degraded" or "down" for an uptime percentage, by the thresholds above."""
    if percent >= UPTIME_GOOD:
        return Status.UP.value
    return Status.DEGRADED.value if percent >= UPTIME_FAIR else Status.DOWN.value


def hour_bucket(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def day_bucket(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class RollupTotals:
    """One bucket's figures while they are being added up."""

    up_count: int = 0
    degraded_count: int = 0
    down_count: int = 0
    maintenance_count: int = 0
    latency_count: int = 0
    latency_sum_ms: int = 0
    latency_max_ms: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BANDS_MS) + 1))

    def add(self, status: str, latency_ms: int) -> None:
        name = _STATUS_FIELDS.get(status)
        if name is None:
            return
        setattr(self, name, getattr(self, name) + 1)
        if status in PASSING:
            self.latency_count += 1
            self.latency_sum_ms += latency_ms
            self.latency_max_ms = max(self.latency_max_ms, latency_ms)
            self.histogram[bisect_left(LATENCY_BANDS_MS, latency_ms)] += 1

    def merge(self, other: RollupTotals) -> None:
        for name in _STATUS_FIELDS.values():
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latency_count += other.latency_count
        self.latency_sum_ms += other.latency_sum_ms
        self.latency_max_ms = max(self.latency_max_ms, other.latency_max_ms)
        self.histogram = [a + b for a, b in zip(self.histogram, other.histogram)]

    @property
    def p95_ms(self) -> int:
        return self.percentile_ms(0.95)

    @property
    def p50_ms(self) -> int:
        return self.percentile_ms(0.50)

    def percentile_ms(self, share: float) -> int:
        """The band edge below which `share` of the latencies fall (the max in the last band)."""
        if not self.latency_count:
            return 0
        needed = share * self.latency_count
        seen = 0
        for band, count in enumerate(self.histogram):
            seen += count
            if seen >= needed:
                edge = LATENCY_BANDS_MS[band] if band < len(LATENCY_BANDS_MS) else self.latency_max_ms
                return min(edge, self.latency_max_ms)
        return self.latency_max_ms

    def as_columns(self) -> dict[str, object]:
        return {
            "up_count": self.up_count,
            "degraded_count": self.degraded_count,
            "down_count": self.down_count,
            "maintenance_count": self.maintenance_count,
            "latency_count": self.latency_count,
            "latency_sum_ms": self.latency_sum_ms,
            "latency_max_ms": self.latency_max_ms,
            **dict(zip(HISTOGRAM_COLUMNS, self.histogram)),
        }

    @classmethod
    def from_columns(cls, row: object) -> RollupTotals:
        histogram = [getattr(row, name) or 0 for name in HISTOGRAM_COLUMNS]
        return cls(
            **{name: getattr(row, name) for name in _STATUS_FIELDS.values()},
            latency_count=getattr(row, "latency_count"),
            latency_sum_ms=getattr(row, "latency_sum_ms"),
            latency_max_ms=getattr(row, "latency_max_ms"),
            histogram=histogram,
        )


def totals_by_bucket(
    rows: Iterable[tuple[int, datetime, str, int]], bucket_of: Callable[[datetime], datetime]
) -> dict[tuple[int, datetime], RollupTotals]:
    """(service_id, checked_at, status, latency_ms) rows summed per (service, bucket)."""
    totals: dict[tuple[int, datetime], RollupTotals] = {}
    for service_id, checked_at, status, latency_ms in rows:
        key = (service_id, bucket_of(checked_at))
        if key not in totals:
            totals[key] = RollupTotals()
        totals[key].add(status, latency_ms)
    return totals


def uptime_percent(up: int, degraded: int, down: int) -> float | None:
    """Share of checked time that was usable; maintenance is not counted either way."""
    counted = up + degraded + down
    return None if counted == 0 else 100.0 * (up + degraded) / counted


def days_ago(now: datetime, days: int) -> datetime:
    return day_bucket(now) - timedelta(days=days - 1)
