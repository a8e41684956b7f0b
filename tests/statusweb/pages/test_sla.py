"""SLA figures from the rollups equal a recomputation from the raw rows, for every
rolling window, on a generated history (both databases)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from statuscore import Status, make_monitor
from statusweb.models import CheckResultRow, Service, get_session_factory
from statusweb.pages.sla import WINDOWS, sla_figures, window_start
from statusweb.runner.sql_store import SqlStore
from tests.statusweb.helpers import record_through_state_machine

NOW = datetime(2026, 11, 20, 15, 37, tzinfo=UTC)


async def test_sla_figures_equal_a_recomputation_from_raw_rows(engine):
    monitors = [
        make_monitor(name=name, url="http://127.0.0.1:9/", interval="20m", sla="99.5%")
        for name in ("Website", "Linker")
    ]
    store = SqlStore(engine, now=lambda: NOW)
    store.sync_services(monitors)
    rng = random.Random(13)
    start = NOW - timedelta(days=100)
    for monitor in monitors:
        statuses = [
            rng.choices([Status.UP, Status.DEGRADED, Status.DOWN, Status.MAINTENANCE], weights=[90, 3, 5, 2])[0]
            for _ in range(100 * 72)
        ]
        await record_through_state_machine(store, monitor, statuses, start=start, step=timedelta(minutes=20))
    await store.close()

    factory = get_session_factory(engine)
    with factory() as session:
        services = list(session.scalars(select(Service)))
        figures = sla_figures(session, services, NOW)
        for service in services:
            for figure, (window, _) in zip(figures[service.id], WINDOWS):
                _, first = window_start(window, NOW)
                rows = session.scalars(
                    select(CheckResultRow.status).where(
                        CheckResultRow.service_id == service.id,
                        CheckResultRow.checked_at >= first,
                        CheckResultRow.checked_at <= NOW,
                    )
                ).all()
                up = sum(1 for s in rows if s in ("up", "degraded"))
                down = sum(1 for s in rows if s == "down")
                assert (figure.up, figure.down) == (up, down), window
                assert figure.downtime_minutes == down * 20
                assert figure.uptime == 100 * up / (up + down)
                assert figure.budget_left_minutes == 0.005 * (up + down) * 20 - down * 20
            print(
                f"\n{service.slug}: "
                + ", ".join(
                    f"{f.window} {f.uptime:.3f}% ({f.budget_left_minutes:+.0f} min budget)" for f in figures[service.id]
                )
            )
