"""Small builders shared by the statuscore tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from statuscore import CheckResult, Status, make_monitor

T0 = datetime(2026, 2, 8, 14, 23, tzinfo=UTC)


def monitor(**policy):
    policy.setdefault("url", "http://127.0.0.1:9/")
    return make_monitor(name=policy.pop("name", "sefaria.org"), **policy)


def result(
    status: Status,
    minute: float = 0,
    *,
    code: int | None = 200,
    error: str | None = None,
    attempts: int = 1,
    max_attempts: int = 4,
    name: str = "sefaria.org",
) -> CheckResult:
    return CheckResult(
        monitor=name,
        slug="sefaria-org",
        status=status,
        checked_at=T0 + timedelta(minutes=minute),
        latency=0.234,
        status_code=code,
        error=error,
        attempts=attempts,
        max_attempts=max_attempts,
    )


def sequence_scheduler(base: str, sink: Any, *names: str, clock: Any, store: Any = None) -> Any:
    """A scheduler of one monitor per name, checking the target's /sequence/<name> with
    no retries, telling `sink` without jitter (an alert test's whole set-up)."""
    from statuscore import MemoryStore, Scheduler, no_jitter

    return Scheduler(
        [make_monitor(name=name, url=f"{base}/sequence/{name}", retries=0) for name in names],
        sinks=[sink],
        store=store if store is not None else MemoryStore(),
        clock=clock,
        alert_jitter=no_jitter,
    )
