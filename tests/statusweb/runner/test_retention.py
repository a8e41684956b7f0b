"""Retention: batched deletes of old raw rows, the dry run counts exactly those."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from statusweb.models import CheckResultRow, RollupDaily, RollupHourly, get_session_factory
from statusweb.runner.retention import cleanup, next_cleanup_time
from statusweb.runner.sql_store import SqlStore
from tests.statusweb.helpers import T0, monitors


def fill(engine, days: int, per_day: int) -> None:
    store = SqlStore(engine)
    ids = store.sync_services(monitors("Site"))
    rows = [
        {
            "service_id": ids["site"],
            "checked_at": T0 - timedelta(days=day, minutes=i),
            "status": "up",
            "latency_ms": 5,
            "attempts": 1,
        }
        for day in range(days)
        for i in range(per_day)
    ]
    with engine.begin() as connection:
        connection.execute(insert(CheckResultRow), rows)
        for model in (RollupDaily, RollupHourly):
            connection.execute(
                insert(model),
                [
                    {
                        "service_id": ids["site"],
                        "bucket": T0 - timedelta(days=day),
                        "up_count": per_day,
                        "degraded_count": 0,
                        "down_count": 0,
                        "maintenance_count": 0,
                        "latency_count": 0,
                        "latency_sum_ms": 0,
                        "latency_max_ms": 0,
                    }
                    for day in range(days)
                ],
            )


def counts(engine):
    with get_session_factory(engine)() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(m)) for m in (CheckResultRow, RollupDaily, RollupHourly)
        )


def test_dry_run_counts_exactly_what_is_then_deleted_in_batches(engine):
    fill(engine, days=90, per_day=30)
    lines = []
    would = cleanup(engine, days=60, now=T0, dry_run=True, progress=lines.append)
    assert counts(engine)[0] == 2700  # nothing deleted by a dry run
    deleted = cleanup(engine, days=60, now=T0, batch_rows=250, progress=lines.append)
    assert would == deleted == 29 * 30 + 29  # older than 60 days: days 61..89, and day 60's early rows
    remaining, daily, hourly = counts(engine)
    assert remaining == 2700 - deleted
    assert daily == 90  # 90-day uptime survives
    assert hourly < 90
    assert lines[-1] == "deleted 899/899 check results (100%)" and len(lines) == 1 + 4  # 4 batches of 250
    assert cleanup(engine, days=60, now=T0, dry_run=True) == 0


def test_next_cleanup_is_at_three_utc():
    assert next_cleanup_time(T0.replace(hour=2)) == T0.replace(hour=3)
    assert next_cleanup_time(T0.replace(hour=3)) == T0.replace(hour=3) + timedelta(days=1)
