"""A region that monitors are checked from, with no live runner there, is told about
once per episode: "no runner in region us" when it goes quiet, "runner back" when one
beats there again. A `region_alert_state` row remembers the episode, written in the same
transaction as the alerts it caused (the SLA alerts' pattern), so a new leader neither
repeats nor forgets it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from statuscore import Alert, CheckResult, Scheduler, Status, Transition, TransitionKind
from statusweb.models import AlertOutbox, RegionAlertState, get_session_factory
from statusweb.pages.queries import silent_regions
from statusweb.runner.sql import insert_ignoring_duplicates
from statusweb.runner.store_rows import outbox_row

# (region, kind "lost" or "back", monitors listing it, silent since) -> alerts for the sinks
Render = Callable[[str, str, int, datetime], list[Alert]]


def evaluate(engine: Engine, ttl: float, now: datetime, render: Render) -> list[Alert]:
    """New region alerts, already stored in the outbox with the state that caused them."""
    made: list[Alert] = []
    silent = silent_regions(engine, ttl)
    with get_session_factory(engine).begin() as session:
        told = {row.region: row for row in session.scalars(select(RegionAlertState).with_for_update())}
        for region, count in silent.items():
            if region not in told:
                session.add(RegionAlertState(region=region, since=now, monitors=count))
                made += render(region, "lost", count, now)
        for region, row in told.items():
            if region not in silent:
                session.execute(delete(RegionAlertState).where(RegionAlertState.region == region))
                made += render(region, "back", row.monitors, row.since)
        insert_ignoring_duplicates(session, AlertOutbox, [outbox_row(alert) for alert in made])
    return made


def describe(region: str, kind: str, count: int) -> str:
    if kind == "lost":
        return (
            f"no live runner in region {region}: {count} monitors are not checked from there and count it as "
            f"unknown; start a runner with STATUSWEB_REGION={region}"
        )
    return f"a runner checks from region {region} again ({count} monitors)"


def render(scheduler: Scheduler, now: datetime, region: str, kind: str, count: int, since: datetime) -> list[Alert]:
    """No runner in a region (or one back) as a transition of the region, for every sink."""
    lost = kind == "lost"
    name, slug = f"Region {region}", f"region-{region}"
    result = CheckResult(
        monitor=name,
        slug=slug,
        status=Status.UNKNOWN if lost else Status.UP,
        checked_at=now,
        latency=0.0,
        error=describe(region, kind, count),
    )
    transition = Transition(
        monitor=name,
        slug=slug,
        kind=TransitionKind.REGION_LOST if lost else TransitionKind.REGION_BACK,
        previous=Status.UP if lost else Status.UNKNOWN,
        current=result.status,
        at=now,
        since=since,
        duration=None if lost else (now - since).total_seconds(),
        result=result,
    )
    return [
        replace(alert, id=f"{slug}:{kind}:{since.isoformat()}:{alert.sink}")
        for alert in scheduler.alerts_for(transition, None)
    ]
