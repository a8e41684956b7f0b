"""Where results, states and the alert queue live. statuscore ships `MemoryStore`;
statusweb's `SqlStore` implements the same protocol on SQLAlchemy."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from .model import Alert, CheckResult, Transition
from .state import MonitorState


class Store(Protocol):
    """Durable memory for the scheduler and notifier.

    `record` must store the result, the monitor's new state, its transitions and the
    alerts they caused together (one transaction), so that a crash between them can
    neither lose an alert nor send one twice.
    """

    async def load_states(self) -> dict[str, MonitorState]:
        """Each monitor's last state, by slug, to resume from after a restart."""

    async def record(
        self, result: CheckResult, state: MonitorState, transitions: Sequence[Transition], alerts: Sequence[Alert]
    ) -> None:
        """Keep one check's outcome; alerts with an id already queued are ignored."""

    async def pending_alerts(self, now: datetime, limit: int = 100) -> list[Alert]:
        """Undelivered alerts, oldest first (including ones not yet due: callers
        keep per-sink order by skipping a sink whose head is not due)."""

    async def mark_delivered(self, alert_id: str, at: datetime) -> None:
        """The sink accepted the alert; never offer it again."""

    async def mark_failed(self, alert_id: str, *, attempts: int, next_try: datetime, error: str) -> None:
        """Delivery failed; offer it again at `next_try`."""

    async def close(self) -> None:
        """Write anything still queued; called once the scheduler has stopped."""


class MemoryStore:
    """The Store for a single process with no database (the CLI, tests, notebooks).

    Keeps the last `history` results per monitor, every state and the alert queue.
    """

    def __init__(self, history: int = 100) -> None:
        self.states: dict[str, MonitorState] = {}
        self.results: dict[str, deque[CheckResult]] = {}
        self.transitions: list[Transition] = []
        self.alerts: OrderedDict[str, Alert] = OrderedDict()
        self.delivered: dict[str, datetime] = {}
        self._history = history

    async def load_states(self) -> dict[str, MonitorState]:
        return dict(self.states)

    async def record(
        self, result: CheckResult, state: MonitorState, transitions: Sequence[Transition], alerts: Sequence[Alert]
    ) -> None:
        self.states[result.slug] = state
        kept = self.results.get(result.slug)
        if kept is None:
            kept = self.results[result.slug] = deque(maxlen=self._history)
        kept.append(result)
        self.transitions.extend(transitions)
        self.queue(alerts)

    def queue(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            if alert.id not in self.alerts and alert.id not in self.delivered:
                self.alerts[alert.id] = alert

    async def pending_alerts(self, now: datetime, limit: int = 100) -> list[Alert]:
        return list(self.alerts.values())[:limit]

    async def mark_delivered(self, alert_id: str, at: datetime) -> None:
        if self.alerts.pop(alert_id, None) is not None:
            self.delivered[alert_id] = at

    async def mark_failed(self, alert_id: str, *, attempts: int, next_try: datetime, error: str) -> None:
        alert = self.alerts.get(alert_id)
        if alert is not None:
            self.alerts[alert_id] = replace(alert, attempts=attempts, next_try=next_try, last_error=error)

    async def close(self) -> None:
        """Nothing to write: everything already lives in memory."""
