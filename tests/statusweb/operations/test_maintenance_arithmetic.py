"""Maintenance is excluded exactly: a window read from the database drives the real
scheduler (virtual clock, a real local target, the SQL store), and the day's rollups,
SLA figures and monthly report say what the issue's arithmetic says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import select

from statuscore import MaintenanceCalendar, Scheduler, Status, TransitionKind, make_monitor
from statuscore.testing import FakeClock, serve_app
from statusweb.models import RollupDaily, Service, get_session_factory
from statusweb.models.rollups import uptime_percent
from statusweb.pages.sla import month_report
from statusweb.runner.sql_store import SqlStore
from statusweb.services.maintenance import WindowPlan, advance_windows, calendar_windows, create_window

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


async def test_a_two_hour_window_with_an_hour_of_failures_inside_and_half_an_hour_outside_leaves_30_minutes(engine):
    clock = FakeClock(start=DAY)
    failing = [(at(10.5), at(11.5)), (at(14), at(14.5))]  # 60 min inside the window, 30 min outside

    async def site(request: web.Request) -> web.Response:
        down = any(start <= clock.now() < end for start, end in failing)
        return web.Response(status=503 if down else 200, text="site")

    app = web.Application()
    app.router.add_get("/", site)
    async with serve_app(app) as base:
        monitor = make_monitor(name="Site", url=f"{base}/", interval="60s", retries=0, sla="99.9%")
        store = SqlStore(engine, now=clock.now)
        store.sync_services([monitor])
        factory = get_session_factory(engine)
        with factory.begin() as session:
            service_id = session.scalar(select(Service.id))
            create_window(
                session,
                WindowPlan(title="Database upgrade", starts_at=at(10), ends_at=at(12), service_ids=(service_id,)),
                now=DAY,
                author="test",
            )
            calendar = MaintenanceCalendar(calendar_windows(session, DAY))
        transitions = []
        scheduler = Scheduler(
            [monitor], store=store, clock=clock, maintenance=calendar, on_transition=transitions.append
        )
        await scheduler.run(duration=24 * 3600)
        await store.close()

    with factory() as session:
        day = session.scalars(select(RollupDaily)).one()
        assert (day.up_count, day.down_count, day.maintenance_count) == (1290, 30, 120)
        assert uptime_percent(day.up_count, day.degraded_count, day.down_count) == 100 * 1290 / 1320
        [(_, figure)] = month_report(session, [session.get(Service, service_id)], 2026, 3)
        print(
            f"\nday with a 2 h window, 1 h down inside, 30 min outside: downtime {figure.downtime_minutes} min, "
            f"checked {figure.checked_minutes} min, uptime {figure.uptime:.4f}% (counting the window: "
            f"{100 * 1350 / 1440:.4f}%, 90 min down)"
        )
        assert figure.downtime_minutes == 30.0
        assert figure.checked_minutes == 1320.0
        assert figure.budget_minutes == (100 - 99.9) / 100 * 1320
        assert not figure.met
        moved = advance_windows(session, at(12) + timedelta(minutes=1))
        assert [w.status for w in moved] == ["completed"]  # the site passed after the window: verified at once
    kinds = [(t.kind, t.notify) for t in transitions]
    assert kinds == [
        (TransitionKind.FIRST, False),
        (TransitionKind.MAINTENANCE, False),
        (TransitionKind.MAINTENANCE_ENDED, False),
        (TransitionKind.DOWN, True),
        (TransitionKind.RECOVERED, True),
    ]
    assert transitions[1].result.status is Status.MAINTENANCE


def test_the_runners_calendar_names_each_windows_services_on_every_page(engine):
    """What the runner reads every second (`calendar_windows`): nothing with no window
    open, the named services of a window, and "every service" of a window's own page."""
    from dataclasses import replace

    from statuscore import PageSpec
    from statusweb.models import Page

    base = make_monitor(name="x", url="http://127.0.0.1:9/")
    checked = [
        replace(base, name=name, slug=name, page=page)
        for name, page in (("a", ""), ("b", ""), ("c", "docs"), ("d", "docs"))
    ]
    store = SqlStore(engine)
    ids = store.sync_services(checked, [PageSpec(slug="docs", name="Docs")])
    factory = get_session_factory(engine)
    with factory.begin() as session:
        assert calendar_windows(session, DAY) == []
        docs = session.scalar(select(Page.id).where(Page.slug == "docs"))
        for title, service_ids, page_id in (
            ("named", (ids["c"],), docs),
            ("default page", (), None),
            ("docs page", (), docs),
        ):
            create_window(
                session,
                WindowPlan(title=title, starts_at=at(10), ends_at=at(12), service_ids=service_ids, page_id=page_id),
                now=DAY,
                author="test",
            )
    with factory() as session:
        windows = {window.title: window.slugs for window in calendar_windows(session, DAY)}
    assert windows == {"named": {"c"}, "default page": {"a", "b"}, "docs page": {"c", "d"}}
    with factory() as session:
        assert calendar_windows(session, at(13)) == []  # over
