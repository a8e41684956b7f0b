"""SLA alerts: every few minutes the runner compares each targeted service's rolling
windows with its target. A breach (uptime under target) and a warning (80% of the
error budget spent) are each told once per window and episode: a row in
`sla_alert_state` remembers it, written in the same transaction as the alerts it
caused, and goes when the figure is back, so a later episode is told again. The
windows that breach together (after an outage, all five at once) make one message
naming each, not one message per window."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from statuscore import Alert, CheckResult, Scheduler, Status, Transition, TransitionKind
from statusweb.models import AlertOutbox, Service, SlaAlertState, get_session_factory
from statusweb.pages.queries import saved_status
from statusweb.pages.sla import BUDGET_WARNING, SlaFigure, sla_figures
from statusweb.runner.sql import insert_ignoring_duplicates
from statusweb.runner.store_rows import outbox_row

log = logging.getLogger("statusweb.runner")

Render = Callable[[str, str, list[SlaFigure]], list[Alert]]  # (slug, kind, figures) -> alerts for the sinks


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
        return (
            f"{figure.window} uptime {uptime} is under the {figure.target:g}% target: "
            f"{figure.downtime_minutes:.0f} min down, {-figure.budget_left_minutes:.0f} min over the error budget"
        )
    return (
        f"{figure.window} error budget {figure.budget_spent:.0%} spent: {figure.downtime_minutes:.0f} of "
        f"{figure.budget_minutes:.0f} min (uptime {uptime}, target {figure.target:g}%)"
    )


def sla_values(figure: SlaFigure) -> dict[str, Any]:
    """One window's figures as an alert carries them (`result.values["sla"]`), so each
    sink shows target, uptime and budget rather than a check's fields."""
    return {
        "window": figure.window,
        "target": figure.target,
        "uptime": None if figure.uptime is None else round(figure.uptime, 3),
        "downtime_min": round(figure.downtime_minutes),
        "budget_min": round(figure.budget_minutes),
        "budget_left_min": round(figure.budget_left_minutes),
        "budget_spent": round(figure.budget_spent, 3),
    }


def evaluate(engine: Engine, now: datetime, render: Render) -> list[Alert]:
    """New SLA alerts, already stored in the outbox with the state that caused them."""
    made: list[Alert] = []
    with get_session_factory(engine).begin() as session:
        services = list(
            session.scalars(select(Service).where(Service.hidden.is_(False), Service.sla_target.is_not(None)))
        )
        sent = {(row.service_id, row.window, row.kind) for row in session.scalars(select(SlaAlertState))}
        for service in services:
            figures = sla_figures(session, [service], now).get(service.id, [])
            try:
                told, ended, alerts = _news(service, figures, sent, render)
            except Exception:  # one service's bad figure or render must not stop the others'
                log.exception("SLA alerts of %s skipped this round", service.slug)
                continue
            session.add_all(
                SlaAlertState(service_id=service.id, window=window, kind=kind, since=now) for window, kind in told
            )
            for window, kind in ended:
                session.execute(
                    delete(SlaAlertState).where(
                        SlaAlertState.service_id == service.id,
                        SlaAlertState.window == window,
                        SlaAlertState.kind == kind,
                    )
                )
            made += alerts
        insert_ignoring_duplicates(session, AlertOutbox, [outbox_row(alert) for alert in made])
    return made


def _news(
    service: Service, figures: list[SlaFigure], sent: set[tuple[int, str, str]], render: Render
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[Alert]]:
    """(window, kind) newly told and ended, and the alerts: one per kind naming every
    window that newly breached (or spent 80%)."""
    news: dict[str, list[SlaFigure]] = {"breach": [], "budget": []}
    told: list[tuple[str, str]] = []
    ended: list[tuple[str, str]] = []
    for figure in figures:
        due = kinds_due(figure)
        for kind in ("breach", "budget"):
            known = (service.id, figure.window, kind) in sent
            if kind in due and not known:
                told.append((figure.window, kind))
                if not (kind == "budget" and "breach" in due):  # else the breach alert says it all
                    news[kind].append(figure)
            elif kind not in due and known:
                ended.append((figure.window, kind))
    alerts = [alert for kind, windows in news.items() if windows for alert in render(service.slug, kind, windows)]
    return told, ended, alerts


def render(
    scheduler: Scheduler, engine: Engine, now: datetime, slug: str, kind: str, figures: list[SlaFigure]
) -> list[Alert]:
    """One SLA alert naming every window in `figures`, for the monitor's sinks: the
    figures ride in `result.values["sla"]`, so sinks show target, uptime and budget."""
    check = next((c for c in scheduler.checks if c.monitor.slug == slug), None)
    if check is None or not figures:
        return []
    state = scheduler.states.get(slug)
    # sharing: another runner may check it, and its state is in the database
    status = state.status if state else Status(saved_status(engine, slug) or Status.UNKNOWN.value)
    result = CheckResult(
        monitor=check.monitor.name,
        slug=slug,
        status=status,
        checked_at=now,
        latency=0.0,
        error="; ".join(describe(kind, figure) for figure in figures),
        values={"sla": [sla_values(figure) for figure in figures]},
    )
    transition = Transition(
        monitor=check.monitor.name,
        slug=slug,
        kind=TransitionKind.SLA_BREACH if kind == "breach" else TransitionKind.SLA_BUDGET,
        previous=status,
        current=status,
        at=now,
        since=now,
        duration=None,
        result=result,
    )
    windows = "+".join(figure.window for figure in figures)
    return [
        replace(alert, id=f"{slug}:{kind}:{windows}:{now.isoformat()}:{alert.sink}")
        for alert in scheduler.alerts_for(transition, check.monitor)
    ]
