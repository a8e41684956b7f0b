"""What goes in one message: whether a DOWN waits, goes alone, with companions
(`grouping`) or with its dependents' DOWNs (`folding`); the payload of several alerts as
one; and the lines about dependencies a message carries. A sink plugin's bug here never
holds an alert back: the alerts then go one by one, or without the line."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..dependencies import Dependencies
from ..model import Alert
from .base import AlertSink, can_group
from .folding import StatusOf, affected_by_note, fold_down, is_down, state_by_name, still_down, still_down_note
from .grouping import DownDecision, ToldDown, decide_down

log = logging.getLogger("statuscore.alerts")


def decide(
    sink: AlertSink[Any],
    alert: Alert,
    others: Sequence[Alert],
    queued: set[str],
    *,
    told_down: ToldDown,
    dependencies: Dependencies,
    status_of: StatusOf,
    first: bool,
    now: datetime,
) -> DownDecision:
    """Send `alert` alone, with its dependents', with companions, or hold it (a DOWN
    to a sink that groups; `others`: the sink's other due DOWN heads; `queued`: monitors
    with a DOWN queued for it)."""
    if alert.kind != "down":
        return DownDecision(batch=[alert])
    groups = can_group(sink)
    if dependencies:
        fold = fold_down(
            alert,
            dependencies,
            status_of,
            queued_down=queued - {alert.monitor},
            heads=others,
            group_wait=sink.grouping.group_wait,
            now=now,
            groups=groups,
        )
        if fold.hold_until is not None or fold.riders:
            return DownDecision(batch=[alert, *fold.riders], hold_until=fold.hold_until, folded=True)
        # a dependent waiting for its parent's message joins no other group
        others = [o for o in others if not queued.intersection(dependencies.parents(o.monitor))]
    if not groups:
        return DownDecision(batch=[alert])
    told = told_down.recent(alert.sink, now, sink.grouping.group_window)
    return decide_down(alert, others, told, first=first, policy=sink.grouping, now=now)


def combined_payload(sink: AlertSink[Any], decision: DownDecision) -> Mapping[str, Any] | None:
    """The one message for the decision's batch (a DOWN with its dependents', or a
    group); None when the sink could not make it."""
    batch = decision.batch
    try:
        if decision.folded:
            return sink.fold(batch[0].payload, batch[0], batch[1:])
        return sink.group(batch, decision.already_told)
    except Exception:  # a plugin's bug here must not hold the alerts back
        log.exception("sink %s could not put %d alerts in one message", sink.instance_name, len(batch))
        return None


def dependency_notes(
    sink: AlertSink[Any],
    batch: Sequence[Alert],
    payload: Mapping[str, Any],
    dependencies: Dependencies,
    status_of: StatusOf,
) -> Mapping[str, Any]:
    """A DOWN whose dependency is down (and not in this message) says so; a
    RECOVERED names the dependents still down."""
    if not dependencies:
        return payload
    state = state_by_name(dependencies, status_of)
    names = {member.monitor for member in batch}
    notes = []
    for member in batch:
        if member.kind == "down":
            parents = dependencies.parents(member.monitor)
            down = [parent for parent in parents if parent not in names and is_down(state(parent))]
            if down:
                notes.append(affected_by_note(down, member.monitor if len(batch) > 1 else ""))
        elif member.kind == "recovered":
            still = still_down(member.monitor, dependencies, status_of)
            if still:
                notes.append(still_down_note(member.monitor, still))
    for note in notes:
        try:
            payload = sink.add_note(payload, note)
        except Exception:  # a plugin's bug here must not hold the alert back
            log.exception("sink %s could not add a note to an alert", sink.instance_name)
    return payload
