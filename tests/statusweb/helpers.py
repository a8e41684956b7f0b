"""Builders for the statusweb tests."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from statuscore import Alert, CheckResult, MonitorState, Status, advance, make_monitor

T0 = datetime(2026, 2, 8, 14, 0, tzinfo=UTC)


def monitors(*names: str):
    return [make_monitor(name=name, url="http://127.0.0.1:9/", group="Core") for name in names]


def result(slug: str, status: Status, at: datetime, latency_ms: int = 120, error: str | None = None) -> CheckResult:
    return CheckResult(
        monitor=slug,
        slug=slug,
        status=status,
        checked_at=at,
        latency=latency_ms / 1000,
        status_code=200 if status is Status.UP else 503,
        error=error,
        attempts=1,
        max_attempts=1,
    )


def alert_for(slug: str, kind: str, at: datetime) -> Alert:
    return Alert(
        id=f"{slug}:{kind}:{at.isoformat()}:slack",
        sink="slack",
        monitor=slug,
        kind=kind,
        payload={"text": f"{slug} {kind}"},
        created_at=at,
    )


async def record_through_state_machine(store, monitor, statuses, start=T0, step=timedelta(minutes=1)):
    """Feed results through the real state machine into `store`; returns the alerts made."""
    state = MonitorState()
    made = []
    for index, status in enumerate(statuses):
        checked = result(monitor.slug, status, start + index * step)
        state, transitions = advance(state, checked, monitor)
        alerts = [alert_for(monitor.slug, t.kind.value, t.at) for t in transitions if t.notify]
        made += alerts
        await store.record(checked, state, transitions, alerts)
    return made


async def wait_for(condition, seconds: float = 15.0):
    """Poll `condition` until it is true (its value), without blocking the event loop
    (local targets the runner checks are served by it); AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"not true within {seconds} s")
