"""Rollups kept as results arrive equal a recomputation from the raw rows (hypothesis)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from statuscore import MonitorState, Status
from statusweb.models import Base, CheckResultRow, RollupDaily, RollupHourly, get_session_factory
from statusweb.models.rollups import RollupTotals, day_bucket, hour_bucket, totals_by_bucket, uptime_percent
from statusweb.runner.sql_store import SqlStore
from tests.statusweb.helpers import T0, monitors, result

SLUGS = ["a", "b", "c"]
results_strategy = st.lists(
    st.tuples(
        st.sampled_from(SLUGS),
        st.sampled_from([Status.UP, Status.UP, Status.DEGRADED, Status.DOWN, Status.MAINTENANCE]),
        st.integers(min_value=0, max_value=3 * 24 * 60),  # minutes over three days
        st.integers(min_value=0, max_value=40_000),
    ),  # latency ms, every band
    min_size=1,
    max_size=60,
)


def _empty(engine):
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def _stored(engine, model):
    with get_session_factory(engine)() as session:
        return {
            (row.service_id, row.bucket): RollupTotals.from_columns(row).as_columns()
            for row in session.scalars(select(model))
        }


def _recomputed(engine, bucket_of):
    with get_session_factory(engine)() as session:
        raw = session.execute(
            select(
                CheckResultRow.service_id, CheckResultRow.checked_at, CheckResultRow.status, CheckResultRow.latency_ms
            )
        ).all()
    return {key: totals.as_columns() for key, totals in totals_by_bucket(raw, bucket_of).items()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(samples=results_strategy, batches=st.integers(min_value=1, max_value=5))
def test_rollups_equal_recomputation_from_raw_rows(engine, samples, batches):
    _empty(engine)

    async def scenario():
        store = SqlStore(engine, flush_interval=3600)
        store.sync_services(monitors(*SLUGS))
        await store.load_states()
        for index, (slug, status, minute, latency) in enumerate(samples):
            at = T0 + timedelta(minutes=minute)
            await store.record(result(slug, status, at, latency), MonitorState(status=status), [], [])
            if index % batches == 0:
                await store.flush()
        await store.close()

    asyncio.run(scenario())
    assert _stored(engine, RollupHourly) == _recomputed(engine, hour_bucket)
    assert _stored(engine, RollupDaily) == _recomputed(engine, day_bucket)


def test_p95_and_uptime_arithmetic():
    totals = RollupTotals()
    for latency in [10] * 94 + [400] * 5 + [9000]:
        totals.add("up", latency)
    totals.add("down", 5000)
    totals.add("maintenance", 1)
    assert totals.p95_ms == 500  # the 95th value falls in the 300-500 ms band
    assert totals.latency_max_ms == 9000 and totals.latency_count == 100
    assert uptime_percent(totals.up_count, totals.degraded_count, totals.down_count) == 100 * 100 / 101
    assert uptime_percent(0, 0, 0) is None
