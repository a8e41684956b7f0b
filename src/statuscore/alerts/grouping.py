"""Which DOWN alerts go out together. When GROUP_MIN or more monitors go DOWN within
GROUP_WINDOW, a sink that can group (it overrides `AlertSink.group`) gets one message
naming them all. The first DOWN still goes at once (a lone outage is never delayed); a
later one waits at most GROUP_WINDOW after it went down for companions, and from the
third on they go out together. Pure: the notifier keeps what was told and when."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from ..model import Alert
from .base import AlertSink

GROUP_WINDOW = 60.0  # seconds: DOWNs this close together are one event
GROUP_MIN = 3


@dataclass
class GroupPlan:
    """For one delivery round: groups to send (by their first alert's id), every alert in
    a group, and DOWN alerts held back (until when) for a group that may form."""

    groups: dict[str, list[Alert]] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    held: dict[str, datetime] = field(default_factory=dict)

    def skipped(self, alert: Alert) -> bool:
        """Sent as part of a group led by another alert."""
        return alert.id in self.members and alert.id not in self.groups


class ToldDown:
    """Per sink, the DOWNs already delivered lately: (went down at, monitor)."""

    def __init__(self) -> None:
        self._by_sink: dict[str, deque[tuple[datetime, str]]] = {}

    def add(self, alert: Alert) -> None:
        if alert.kind == "down":
            self._by_sink.setdefault(alert.sink, deque(maxlen=1000)).append((alert.created_at, alert.monitor))

    def recent(self, sink: str, now: datetime) -> list[tuple[datetime, str]]:
        return [(at, name) for at, name in self._by_sink.get(sink, ()) if (now - at).total_seconds() < GROUP_WINDOW]


def can_group(sink: AlertSink[Any] | None) -> bool:
    return sink is not None and type(sink).group is not AlertSink.group


def plan_groups(pending: Sequence[Alert], sinks: Mapping[str, AlertSink[Any]], told: ToldDown,
                now: datetime) -> GroupPlan:
    plan = GroupPlan()
    downs: dict[str, list[Alert]] = {}
    for alert in pending:
        due = alert.next_try is None or alert.next_try <= now or bool(alert.attempts)
        if alert.kind == "down" and due and can_group(sinks.get(alert.sink)):
            downs.setdefault(alert.sink, []).append(alert)
    for sink_name, waiting in downs.items():
        _plan_sink(plan, waiting, told.recent(sink_name, now), now)
    return plan


def _plan_sink(plan: GroupPlan, waiting: list[Alert], told: list[tuple[datetime, str]], now: datetime) -> None:
    first = min([at for at, _ in told] + [a.created_at for a in waiting])
    cluster = [a for a in waiting if (a.created_at - first).total_seconds() < GROUP_WINDOW]
    if len(cluster) + len(told) >= GROUP_MIN and (len(cluster) > 1 or told):
        plan.groups[cluster[0].id] = cluster
        plan.members.update(a.id for a in cluster)
        return
    # Too few yet: the first DOWN goes now (when nothing went lately), later ones wait.
    for alert in cluster[0 if told else 1:]:
        until = alert.created_at + timedelta(seconds=GROUP_WINDOW)
        if until > now:
            plan.held[alert.id] = until
