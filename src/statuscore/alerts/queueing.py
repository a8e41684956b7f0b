"""The alerts one transition makes: one per sink that the monitor's alerts go to and that
wants it, rendered now (what is stored is what is sent), with an id that is the same
however often the transition is recorded, so queuing it again changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ..model import Alert, Monitor, Transition
from .base import AlertSink

log = logging.getLogger("statuscore.scheduler")


def alerts_for(sinks: Iterable[AlertSink[Any]], transition: Transition, monitor: Monitor | None) -> list[Alert]:
    """One rendered alert per sink that this monitor's alerts go to (every sink for
    news about no monitor in particular) and that wants it."""
    alerts: list[Alert] = []
    if monitor is not None and not monitor.notify:
        return alerts  # shown, never told (`notify = false`, a vendor's status)
    for sink in sinks:
        if monitor is not None and monitor.alerts and sink.instance_name not in monitor.alerts:
            continue  # this monitor's alerts go to other people
        if not sink.wants(transition):
            continue
        try:
            payload = sink.render_alert(transition, monitor)
        except Exception:
            log.exception("sink %s could not render an alert for %s", sink.instance_name, transition.monitor)
            continue
        alerts.append(
            Alert(
                id=f"{transition.slug}:{transition.kind.value}:{transition.at.isoformat()}:{sink.instance_name}",
                sink=sink.instance_name,
                monitor=transition.monitor,
                kind=transition.kind.value,
                payload=payload,
                created_at=transition.at,
            )
        )
    return alerts
