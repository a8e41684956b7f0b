"""The alerts SqlStore holds in memory until they are delivered: those stored with the
transition that caused them, those still waiting to be stored (sent from memory only
while the database is unreachable), and those another writer stored (adopted: the SLA
and region alerts, ours to send whatever the leases say)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from statuscore import Alert


@dataclass
class QueuedAlert:
    """An alert in memory until it is delivered, stored yet or not."""

    alert: Alert
    persisted: bool
    delivered_at: datetime | None = None
    adopted: bool = False  # stored by another writer of this process (SLA): ours to send, lease or not


def slug_of(alert: Alert) -> str:
    """The monitor an alert is about: every alert id starts with its slug and a colon."""
    return alert.id.split(":", 1)[0]


class AlertQueue:
    """In the order the alerts came; an alert id is queued once."""

    def __init__(self) -> None:
        self._queued: OrderedDict[str, QueuedAlert] = OrderedDict()

    def add(self, alerts: Iterable[Alert], *, stored: bool, adopted: bool = False) -> None:
        for alert in alerts:
            self._queued.setdefault(alert.id, QueuedAlert(alert, persisted=stored, adopted=adopted))

    def get(self, alert_id: str) -> QueuedAlert | None:
        return self._queued.get(alert_id)

    def drop(self, alert_id: str) -> None:
        self._queued.pop(alert_id, None)

    def unstored(self) -> list[QueuedAlert]:
        """Those not written to the outbox yet (the next batch writes them)."""
        return [queued for queued in self._queued.values() if not queued.persisted]

    def ready(self, *, outage: bool, deciding: set[str] | None, note: str) -> list[Alert]:
        """What may go out: the stored ones, or during an outage every undelivered one
        with `note`; with leases (`deciding`), only those of monitors decided here."""
        return [
            queued.alert if queued.persisted and not outage else replace(queued.alert, note=note)
            for queued in self._queued.values()
            if queued.delivered_at is None
            and (queued.persisted or outage)
            and (deciding is None or queued.adopted or slug_of(queued.alert) in deciding)
        ]

    def give_up(self, slugs: Sequence[str]) -> None:
        """Forget the alerts of monitors another runner holds now (theirs to send)."""
        gone = set(slugs)
        for alert_id in [
            key for key, queued in self._queued.items() if not queued.adopted and slug_of(queued.alert) in gone
        ]:
            del self._queued[alert_id]

    def stored(self, batch: Sequence[QueuedAlert], refused: set[str]) -> None:
        """A batch is written: its alerts may go, but those the lease fence refused
        (another runner's now) and those already delivered from memory leave the queue."""
        for queued in batch:
            if queued.alert.id in refused:
                self.drop(queued.alert.id)
                continue
            queued.persisted = True
            if queued.delivered_at is not None:
                self.drop(queued.alert.id)
