"""What a person reads in an alert, per kind of news: a check's fields for an outage
(status, since, HTTP code, error, retries), an SLA's for an SLA alert (target, uptime,
budget left), the last push for a push monitor; and the title over them. Shared by the
Slack, email and Apprise sinks and by message templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..durations import format_duration
from ..model import CheckResult, Transition, TransitionKind

_ICONS: dict[TransitionKind, str] = {
    TransitionKind.DOWN: "🔴",
    TransitionKind.REMINDER: "🔴",
    TransitionKind.RECOVERED: "🟢",
    TransitionKind.DEGRADED: "🟡",
    TransitionKind.IMPROVED: "🟢",
    TransitionKind.FLAPPING: "🟠",
    TransitionKind.SLA_BREACH: "🟣",
    TransitionKind.SLA_BUDGET: "🟣",
    TransitionKind.REGION_LOST: "🟠",
    TransitionKind.REGION_BACK: "🟢",
    TransitionKind.MAINTENANCE: "🔧",
    TransitionKind.MAINTENANCE_ENDED: "🔧",
}
_TITLES: dict[TransitionKind, str] = {
    TransitionKind.DOWN: "Service Down",
    TransitionKind.REMINDER: "Still Down",
    TransitionKind.RECOVERED: "Service Recovered",
    TransitionKind.DEGRADED: "Service Degraded",
    TransitionKind.IMPROVED: "Service Performance Normal",
    TransitionKind.FLAPPING: "Service Flapping",
    TransitionKind.SLA_BREACH: "SLA Breached",
    TransitionKind.SLA_BUDGET: "Error Budget 80% Spent",
    TransitionKind.REGION_LOST: "No Runner In Region",
    TransitionKind.REGION_BACK: "Runner Back In Region",
    TransitionKind.MAINTENANCE: "Maintenance Started",
    TransitionKind.MAINTENANCE_ENDED: "Maintenance Ended",
}


def alert_icon(transition: Transition) -> str:
    """The emoji a message starts with: red for an outage, green for good news..."""
    if transition.kind is TransitionKind.SETTLED:
        return "🔴" if transition.current.is_failure else "🟢"
    return _ICONS.get(transition.kind, "🔵")


def alert_heading(transition: Transition) -> str:
    """ "Service Down", "Service Recovered", ..."""
    if transition.kind is TransitionKind.SETTLED:  # flapping is over: say plainly where it ended
        return f"Service {transition.current.value.title()}, No Longer Flapping"
    return _TITLES.get(transition.kind) or str(transition.kind.value).title()


def alert_title(transition: Transition) -> str:
    """ "🔴  Service Down: sefaria.org" (Slack's header, Apprise's title)."""
    return f"{alert_icon(transition)}  {alert_heading(transition)}: {transition.monitor}"


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def alert_fields(transition: Transition) -> list[tuple[str, str]]:
    """(name, value) pairs a person reads for this kind of news: a check's fields for an
    outage, an SLA's for an SLA alert, the last push for a push monitor."""
    result = transition.result
    kind = transition.kind
    if kind in (TransitionKind.SLA_BREACH, TransitionKind.SLA_BUDGET) and result.values.get("sla"):
        return sla_fields(result.values["sla"])
    fields = [("Status", transition.current.value.upper())]
    if kind in (TransitionKind.DOWN, TransitionKind.REMINDER):
        fields.append(("Since", format_time(transition.since)))
        if kind is TransitionKind.REMINDER and transition.duration is not None:
            fields.append(("Down for", f"~{format_duration(transition.duration)}"))
        fields += _outage_fields(result)
    elif kind is TransitionKind.RECOVERED:
        fields.append(("Recovered", format_time(transition.at)))
        if transition.duration is not None:
            fields.append(("Downtime", f"~{format_duration(transition.duration)}"))
        if "last_push" not in result.values:
            fields.append(("Response", f"{result.latency_ms}ms"))
    elif kind is TransitionKind.FLAPPING:
        fields.append(("Flapping since", format_time(transition.since)))
        fields.append(("Alerts", "paused until it settles"))
    elif kind is TransitionKind.SETTLED:
        fields.append(("Settled at", format_time(transition.at)))
    else:
        if kind not in (TransitionKind.REGION_LOST, TransitionKind.REGION_BACK):
            fields.append(("Response", f"{result.latency_ms}ms"))
        if result.error:
            fields.append(("Detail", result.error))
    return fields


def _outage_fields(result: CheckResult) -> list[tuple[str, str]]:
    if "last_push" in result.values:  # a job that reports in: when it last did, not an HTTP code
        last = result.values["last_push"]
        return [
            ("Last push", format_time(datetime.fromisoformat(last)) if last else "none yet"),
            ("Error", result.error or "unknown"),
        ]
    failed = result.attempts if result.status.is_failure else 0
    return [
        ("HTTP Code", str(result.status_code) if result.status_code else "none"),
        ("Error", result.error or "unknown"),
        ("Retries", f"{failed}/{result.max_attempts} failed"),
    ]


def sla_fields(windows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Target, then per window its uptime and what is left of the error budget."""
    fields = [("Target", f"{windows[0]['target']:g}% uptime")]
    for window in windows:
        uptime = "no data" if window.get("uptime") is None else f"{window['uptime']:.3f}%"
        left = window["budget_left_min"]
        budget = f"{-left} min over budget" if left < 0 else f"{left} of {window['budget_min']} min budget left"
        fields.append((str(window["window"]), f"uptime {uptime}, {budget}"))
    return fields
