"""SLA alerts: every few minutes the runner compares each targeted service's rolling
windows with its target. A breach (uptime under target) and a warning (80% of the
error budget spent) are each sent once per window and episode: a row in
`sla_alert_state` remembers it, written in the same transaction as the alerts it
caused, and goes when the figure is back, so a later episode is told again."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from statuscore import Alert
from statusweb.models import AlertOutbox, Service, SlaAlertState, get_session_factory
from statusweb.pages.sla import BUDGET_WARNING, SlaFigure, sla_figures
from statusweb.runner.sql import insert_ignoring_duplicates
from statusweb.runner.sql_store import outbox_row

Render = Callable[[str, str, SlaFigure], list[Alert]]  # (slug, kind, figure) -> alerts for the sinks


def kinds_due(figure: SlaFigure) -> set[str]:
    """What a figure deserves: "breach", "budget" (the warning), or nothing."""
    if figure.uptime is None:
        return set()
    if not figure.met:
        return {"breach", "budget"}  # a breach has spent the budget too: no separate warning later
    return {"budget"} if figure.budget_spent >= BUDGET_WARNING else set()


def describe(kind: str, figure: SlaFigure) -> str:
    uptime = f"{figure.uptime:.3f}%" if figure.uptime is not None else "no data"
    if kind == "breach":
        return (f"{figure.window} uptime {uptime} is under the {figure.target:g}% target: "
                f"{figure.downtime_minutes:.0f} min down, {-figure.budget_left_minutes:.0f} min over the error budget")
    return (f"{figure.window} error budget {figure.budget_spent:.0%} spent: {figure.downtime_minutes:.0f} of "
            f"{figure.budget_minutes:.0f} min (uptime {uptime}, target {figure.target:g}%)")


def evaluate(engine: Engine, now: datetime, render: Render) -> list[Alert]:
    """New SLA alerts, already stored in the outbox with the state that caused them."""
    made: list[Alert] = []
    with get_session_factory(engine).begin() as session:
        services = list(session.scalars(select(Service).where(Service.hidden.is_(False),
                                                              Service.sla_target.is_not(None))))
        sent = {(row.service_id, row.window, row.kind) for row in session.scalars(select(SlaAlertState))}
        for service in services:
            for figure in sla_figures(session, [service], now).get(service.id, []):
                due = kinds_due(figure)
                for kind in ("breach", "budget"):
                    key = (service.id, figure.window, kind)
                    if kind in due and key not in sent:
                        session.add(SlaAlertState(service_id=service.id, window=figure.window, kind=kind, since=now))
                        if kind == "budget" and "breach" in due:
                            continue  # the breach alert says it all
                        made += render(service.slug, kind, figure)
                    elif kind not in due and key in sent:
                        session.execute(delete(SlaAlertState).where(
                            SlaAlertState.service_id == service.id, SlaAlertState.window == figure.window,
                            SlaAlertState.kind == kind))
        insert_ignoring_duplicates(session, AlertOutbox, [outbox_row(alert) for alert in made])
    return made
