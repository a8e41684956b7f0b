"""Monitors checked from several regions: each region's lease holder records what it saw
(`region_observation`); the runner that decides the monitor counts those votes.

A monitor goes DOWN only when at least `quorum` of its regions saw it down within one
interval (plus the time one check may take). A region with no fresh observation (no live
runner there, or one that fell behind) is unknown: it never counts as down, and the
result says so. The decided result carries what every region saw, for the admin and
the alert.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from statuscore import CheckResult, Monitor, Status
from statusweb.models import RegionObservation, get_session_factory


@dataclass(frozen=True)
class Observation:
    region: str
    status: Status
    checked_at: datetime
    error: str | None = None


def freshness(monitor: Monitor) -> timedelta:
    """How old a region's observation may be and still vote: one interval plus the
    longest one check (with its retries) may take."""
    return timedelta(seconds=monitor.interval + monitor.timeout * monitor.max_attempts
                     + monitor.retry_delay * monitor.retries)


def decide(monitor: Monitor, region: str, result: CheckResult, others: dict[str, Observation]) -> CheckResult:
    """`result` (what `region` saw) judged with the other regions' latest observations."""
    seen = {**others, region: Observation(region, result.status, result.checked_at, result.error)}
    oldest = result.checked_at - freshness(monitor)
    votes = {name: seen[name] for name in monitor.regions if name in seen and seen[name].checked_at >= oldest}
    down = [name for name, vote in votes.items() if vote.status is Status.DOWN]
    unknown = [name for name in monitor.regions if name not in votes]
    summary = "; ".join([f"{name}: {_said(vote)}" for name, vote in votes.items()]
                        + [f"{name}: unknown (no recent check from there)" for name in unknown])
    needed = monitor.votes_needed
    if len(down) >= needed:
        return replace(result, status=Status.DOWN, error=f"down from {len(down)} of {len(monitor.regions)} regions "
                                                         f"(quorum {needed}): {summary}")
    if not down and not unknown:
        return result
    status = Status.UP if result.status is Status.DOWN else result.status
    return replace(result, status=status, error=f"not down: {len(down)} of {len(monitor.regions)} regions "
                                                f"saw it down (quorum {needed}): {summary}")


def _said(vote: Observation) -> str:
    if vote.status is Status.DOWN and vote.error:
        return f"down ({vote.error[:200]})"
    return vote.status.value


def read_observations(engine: Engine, service_ids: Iterable[int]) -> dict[int, dict[str, Observation]]:
    """The latest observation of every region, for each of `service_ids`."""
    wanted = sorted(set(service_ids))
    if not wanted:
        return {}
    seen: dict[int, dict[str, Observation]] = {}
    with get_session_factory(engine)() as session:
        for row in session.scalars(select(RegionObservation).where(RegionObservation.service_id.in_(wanted))):
            seen.setdefault(row.service_id, {})[row.region] = Observation(row.region, Status(row.status),
                                                                          row.checked_at, row.error)
    return seen
