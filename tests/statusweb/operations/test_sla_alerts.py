"""SLA alerts: a breach and an 80%-of-budget warning, each once per window and episode,
the windows that breach together in one message, stored in the outbox with their state;
rendered for the monitor's sinks by the runner with SLA fields, not a check's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from statuscore import Alert, Status, make_monitor, utcnow
from statusweb.models import AlertOutbox, SlaAlertState, get_session_factory
from statusweb.runner import sla_alerts
from statusweb.runner.sql_store import SqlStore
from tests.statusweb.helpers import record_through_state_machine

START = datetime(2026, 11, 1, tzinfo=UTC)


def render(slug: str, kind: str, figures) -> list[Alert]:
    windows = "+".join(figure.window for figure in figures)
    return [
        Alert(
            id=f"{slug}:{kind}:{windows}",
            sink="ops",
            monitor=slug,
            kind=f"sla_{kind}",
            payload={"text": "\n".join(sla_alerts.describe(kind, figure) for figure in figures)},
            created_at=START,
        )
    ]


async def test_budget_warning_then_breach_each_once_per_window_and_again_after_recovery(engine):
    monitor = make_monitor(name="Linker", url="http://127.0.0.1:9/", interval="60m", sla="95%")
    store = SqlStore(engine, now=lambda: START)
    store.sync_services([monitor])
    # 20 hours: 19 up, 1 down -> 24h uptime 95.0% (met), budget 60 min, spent 60 min: 100% -> warning only
    await record_through_state_machine(
        store, monitor, [Status.UP] * 19 + [Status.DOWN], start=START, step=timedelta(hours=1)
    )
    await store.flush()
    now = START + timedelta(hours=19, minutes=30)
    first = sla_alerts.evaluate(engine, now, render)
    assert [a.id for a in first] == ["linker:budget:24h+7d+30d+90d+365d"]  # one message, every window
    assert "error budget 100% spent: 60 of 60 min" in first[0].payload["text"]
    assert sla_alerts.evaluate(engine, now, render) == []  # once per episode
    await record_through_state_machine(store, monitor, [Status.DOWN], start=START + timedelta(hours=20))
    await store.flush()
    breach = sla_alerts.evaluate(engine, now + timedelta(hours=1), render)
    assert [a.id for a in breach] == ["linker:breach:24h+7d+30d+90d+365d"]
    assert "24h uptime 90.476% is under the 95% target" in breach[0].payload["text"]
    await record_through_state_machine(
        store, monitor, [Status.UP] * 100, start=START + timedelta(hours=21), step=timedelta(hours=1)
    )
    await store.flush()
    assert sla_alerts.evaluate(engine, START + timedelta(hours=121), render) == []  # recovered everywhere
    with get_session_factory(engine)() as session:
        assert session.scalars(select(SlaAlertState)).all() == []
        assert len(session.scalars(select(AlertOutbox.id).where(AlertOutbox.kind.like("sla_%"))).all()) == 2
    await store.close()


def test_the_runner_renders_an_sla_alert_for_the_monitors_own_sinks(engine, db_url, monkeypatch):
    from pathlib import Path

    from statuscore import Scheduler
    from statusweb.pages.sla import SlaFigure
    from statusweb.runner import sla_alerts
    from statusweb.runner.runner import Runner
    from statusweb.settings import RunnerSettings

    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.example/services/T/B/X")
    sefaria = str(Path(__file__).resolve().parents[3] / "examples" / "sefaria.toml")
    runner = Runner(RunnerSettings(database_url=db_url, monitors_path=sefaria), engine=engine)
    scheduler = Scheduler(runner.config.monitors, sinks=runner.config.sinks)

    def render(*args):
        return sla_alerts.render(scheduler, engine, utcnow(), *args)

    [alert] = render(
        "linker", "breach", [SlaFigure("7d", 99.9, 10000, 100, 60), SlaFigure("30d", 99.9, 43000, 100, 60)]
    )
    assert alert.kind == "sla_breach" and alert.sink == "slack" and alert.id.startswith("linker:breach:7d+30d:")
    text = alert.payload["text"]
    assert text.startswith(
        "🟣  SLA Breached: Linker (Target: 99.9% uptime, 7d: uptime 99.010%, 90 min over budget, "
        "30d: uptime 99.768%, 57 min over budget)"
    )
    for meaningless in ("Status:", "Response:", "0ms", "HTTP Code"):  # a check's fields mean nothing here
        assert meaningless not in text
    assert render("nope", "breach", [SlaFigure("30d", 99.9, 1, 1, 60)]) == []
    # Runners sharing PostgreSQL: the leader renders it for a monitor another runner checks.
    from tests.statusweb.pages import add_services

    add_services(engine, ("Linker", "down"))
    [alert] = render("linker", "budget", [SlaFigure("30d", 99.9, 43000, 40, 60)])
    assert "30d: uptime 99.907%, 3 of 43 min budget left" in alert.payload["text"]
