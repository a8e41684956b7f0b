"""SqlStore: batched, transactional, restart-safe; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from statuscore import MonitorState, Status
from statusweb.models import (
    AlertOutbox,
    CheckResultRow,
    RollupDaily,
    RollupHourly,
    Service,
    ServiceState,
    get_session_factory,
)
from statusweb.runner.alert_queue import AlertQueue
from statusweb.runner.sql_store import SqlStore
from tests.statusweb.helpers import T0, alert_for, monitors, record_through_state_machine, result


def count(engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


async def test_record_writes_results_state_rollups_and_alerts_in_one_batch(engine):
    store = SqlStore(engine, flush_interval=3600)
    (site,) = monitors("Site")
    store.sync_services([site])
    await store.load_states()
    alerts = await record_through_state_machine(store, site, [Status.UP, Status.UP, Status.DOWN, Status.UP])
    assert [a.kind for a in alerts] == ["down", "recovered"]
    assert count(engine, CheckResultRow) == 0  # queued, not yet written
    assert await store.pending_alerts(T0) == []  # not offered before it is durable
    assert await store.flush()
    assert store.batches_written == 1
    assert count(engine, CheckResultRow) == 4
    with get_session_factory(engine)() as session:
        state = session.scalars(select(ServiceState)).one()
        assert (state.status, state.last_status, state.consecutive_successes) == ("up", "up", 1)
        daily = session.scalars(select(RollupDaily)).one()
        assert (daily.up_count, daily.down_count, daily.latency_count, daily.latency_sum_ms) == (3, 1, 3, 360)
        assert count(engine, RollupHourly) == 1
    assert [a.kind for a in await store.pending_alerts(T0)] == ["down", "recovered"]
    await store.close()


async def test_a_large_batch_of_awkward_values_is_written_exactly(engine):
    """A batch goes to PostgreSQL as one statement of arrays (issue 16, item 4): thousands
    of rows, errors with quotes, braces, backslashes, commas and Hebrew, columns of NULLs
    only, all read back as written, and the rollups add up across batches."""
    from dataclasses import replace

    store = SqlStore(engine, flush_interval=3600)
    checked = monitors(*(f"M{n}" for n in range(300)))
    store.sync_services(checked)
    await store.load_states()
    awkward = ['{"a", b}', "back\\slash", "NULL", "", 'שגיאה, "quoted"', "x" * 5000]
    written = []
    for step in range(10):
        for n, monitor in enumerate(checked):
            failed = (n + step) % 7 == 0
            error = awkward[(n + step) % len(awkward)] if failed else None
            one = result(
                monitor.slug,
                Status.DOWN if failed else Status.UP,
                T0 + timedelta(seconds=step),
                latency_ms=n,
                error=error,
            )
            if n % 2:
                one = replace(one, status_code=None)
            written.append(one)
            await store.record(one, MonitorState(status=one.status, since=T0, last_result=one), [], [])
        assert await store.flush()
    with get_session_factory(engine)() as session:
        ids = {service.id: service.slug for service in session.scalars(select(Service))}
        rows = session.execute(
            select(
                CheckResultRow.service_id,
                CheckResultRow.checked_at,
                CheckResultRow.status,
                CheckResultRow.latency_ms,
                CheckResultRow.status_code,
                CheckResultRow.error,
            )
        ).all()
        assert sorted((ids[r[0]], *r[1:]) for r in rows) == sorted(
            (w.slug, w.checked_at, w.status.value, w.latency_ms, w.status_code, w.error[:2000] if w.error else None)
            for w in written
        )
        daily = session.execute(
            select(
                func.sum(RollupDaily.up_count), func.sum(RollupDaily.down_count), func.sum(RollupDaily.latency_sum_ms)
            )
        ).one()
        assert tuple(daily) == (
            sum(w.status is Status.UP for w in written),
            sum(w.status is Status.DOWN for w in written),
            sum(w.latency_ms for w in written if w.status is Status.UP),
        )
        states = session.scalars(select(ServiceState)).all()
        assert len(states) == 300 and all(s.last_checked_at == T0 + timedelta(seconds=9) for s in states)
    await store.close()


def test_an_upsert_refuses_a_key_twice(engine):
    import pytest

    from statusweb.runner.sql import upsert

    with get_session_factory(engine).begin() as session:
        with pytest.raises(ValueError, match="a key twice"):
            upsert(
                session,
                ServiceState,
                [{"service_id": 1}, {"service_id": 1}],
                ("service_id",),
                lambda table, excluded: {},
            )


async def test_restart_restores_states_and_undelivered_alerts_only(engine):
    (site,) = monitors("Site")
    first = SqlStore(engine, flush_interval=3600)
    first.sync_services([site])
    await first.load_states()
    down, recovered = await record_through_state_machine(first, site, [Status.UP, Status.DOWN, Status.UP])
    await first.flush()
    await first.mark_delivered(down.id, T0)
    await first.close()

    second = SqlStore(engine)
    second.sync_services([site])
    states = await second.load_states()
    assert states[site.slug].status is Status.UP
    assert states[site.slug].last_result.status is Status.UP
    assert states[site.slug].flips == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=2))  # flapping memory
    assert [a.id for a in await second.pending_alerts(T0)] == [recovered.id]
    await second.close()


async def test_requeued_alert_ids_are_ignored(engine):
    (site,) = monitors("Site")
    store = SqlStore(engine, flush_interval=3600)
    store.sync_services([site])
    await store.load_states()
    alert = alert_for(site.slug, "down", T0)
    for _ in range(2):
        await store.record(result(site.slug, Status.DOWN, T0), MonitorState(status=Status.DOWN), [], [alert])
        await store.flush()
        store.alerts = AlertQueue()  # as after a restart: only the database knows it
    assert count(engine, AlertOutbox) == 1
    await store.close()


async def test_failed_delivery_is_kept_with_its_next_try(engine):
    (site,) = monitors("Site")
    store = SqlStore(engine, flush_interval=3600)
    store.sync_services([site])
    await store.load_states()
    alert = alert_for(site.slug, "down", T0)
    await store.record(result(site.slug, Status.DOWN, T0), MonitorState(status=Status.DOWN), [], [alert])
    await store.flush()
    await store.mark_failed(alert.id, attempts=2, next_try=T0 + timedelta(seconds=4), error="HTTP 429")
    await store.flush()
    with get_session_factory(engine)() as session:
        row = session.get(AlertOutbox, alert.id)
        assert (row.attempts, row.next_try, row.last_error, row.delivered_at) == (
            2,
            T0 + timedelta(seconds=4),
            "HTTP 429",
            None,
        )
    await store.close()


async def test_services_are_synced_by_slug_and_retired_ones_hidden_with_history_kept(engine):
    store = SqlStore(engine, flush_interval=3600)
    store.sync_services(monitors("Website", "Linker", "MCP"))
    await store.load_states()
    await store.record(result("mcp", Status.UP, T0), MonitorState(status=Status.UP), [], [])
    await store.flush()
    from statuscore import make_monitor

    renamed = make_monitor(name="The Website", slug="website", url="http://127.0.0.1:9/")
    store.sync_services([monitors("Linker")[0], renamed, *monitors("Export")])
    with get_session_factory(engine)() as session:
        services = {s.slug: s for s in session.scalars(select(Service))}
    assert services["website"].name == "The Website" and services["website"].position == 1
    assert services["linker"].position == 0
    assert services["mcp"].hidden and not services["export"].hidden
    assert count(engine, CheckResultRow) == 1  # the retired service's history stays
    await store.close()


@pytest.mark.parametrize("migrated_engine", ["postgresql"], indirect=True)
def test_runners_starting_together_sync_the_same_file_without_tripping_on_each_other(engine):
    """Several runners start at once (a deploy): each syncs the monitors file, pages and
    organizations included. The second waits for the first instead of inserting the same
    slugs and failing (it used to log "monitors not synced ... UniqueViolation" and retry)."""
    from statuscore import PageSpec

    failures: list[BaseException] = []
    for round_ in range(3):
        names = [f"Round {round_} service {n}" for n in range(200)]
        pages = [PageSpec(slug=f"team-{round_}", name="Team", organization=f"org-{round_}")]
        start = threading.Barrier(3)

        def sync(start=start, names=names, pages=pages) -> None:
            start.wait()
            try:
                SqlStore(engine, flush_interval=3600).sync_services(monitors(*names), pages)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                failures.append(exc)

        threads = [threading.Thread(target=sync) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert failures == []
    assert count(engine, Service) == 600
