"""Which DOWN alerts go out together, and how long one may wait for companions.

The contract (DESIGN.md 6b): the first DOWN of an episode goes at once; a later one
waits at most `group_wait` for companions; when GROUP_MIN or more distinct monitors are
down within `group_window`, the waiting ones go as one message naming the rest. Only the
head of each monitor's queue can join a group, so one monitor's separate outages are
never merged and its own earlier DOWN is never its companion. Pure: the notifier keeps
what was told and calls `decide_down` for each due DOWN."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..model import Alert
from ..schema import Duration

GROUP_MIN = 3
#: Alert kinds after which a monitor's DOWN is no longer news to group with.
_ENDS_OUTAGE = frozenset({"recovered", "settled", "maintenance", "improved"})


@dataclass(frozen=True, kw_only=True)
class GroupPolicy:
    """The `group_wait` and `group_window` keys of an [[alert]] table."""

    group_wait: Duration = 10.0
    group_window: Duration = 60.0


class ToldDown:
    """Per sink, the monitors whose DOWN was delivered lately and that have not
    recovered since (monitor -> when it went down), oldest first."""

    KEEP = 1000

    def __init__(self) -> None:
        self._by_sink: dict[str, dict[str, datetime]] = {}

    def add(self, alert: Alert) -> None:
        told = self._by_sink.setdefault(alert.sink, {})
        if alert.kind == "down":
            told.pop(alert.monitor, None)
            told[alert.monitor] = alert.created_at
            if len(told) > self.KEEP:
                del told[next(iter(told))]
        elif alert.kind in _ENDS_OUTAGE:
            told.pop(alert.monitor, None)

    def recent(self, sink: str, now: datetime, window: float) -> list[str]:
        return [name for name, at in self._by_sink.get(sink, {}).items() if (now - at).total_seconds() < window]


@dataclass(frozen=True)
class DownDecision:
    """Send `batch` now (one alert: on its own), or hold the alert until `hold_until`."""

    batch: Sequence[Alert] = ()
    already_told: Sequence[str] = ()
    hold_until: datetime | None = None
    #: The batch is one monitor's DOWN with its dependents' (`folding.py`), not a group.
    folded: bool = False


def down_heads(pending: Sequence[Alert], now: datetime) -> dict[str, list[Alert]]:
    """Per sink, the due DOWN alerts that are the oldest undelivered alert of their
    monitor (the only ones that may join a group), oldest first."""
    seen: set[tuple[str, str]] = set()
    heads: dict[str, list[Alert]] = {}
    for alert in pending:
        pair = (alert.sink, alert.monitor)
        if pair in seen:
            continue
        seen.add(pair)
        if alert.kind == "down" and (alert.next_try is None or alert.next_try <= now):
            heads.setdefault(alert.sink, []).append(alert)
    return heads


def decide_down(
    alert: Alert, heads: Sequence[Alert], told: Sequence[str], *, first: bool, policy: GroupPolicy, now: datetime
) -> DownDecision:
    """For a due DOWN at the head of its monitor's queue. `heads`: the sink's other due
    DOWN heads not sent yet; `told`: monitors whose DOWN this sink had lately; `first`:
    no DOWN is held on this sink in this round."""
    others_told = [name for name in told if name != alert.monitor]
    if first and not others_told:
        return DownDecision(batch=[alert])  # an episode's first DOWN never waits
    until = alert.created_at + timedelta(seconds=policy.group_wait)
    if not alert.attempts and now < until:
        return DownDecision(hold_until=until)
    batch = [alert]
    for companion in heads:
        gap = (companion.created_at - alert.created_at).total_seconds()
        if companion.monitor not in {a.monitor for a in batch} and 0 <= gap < policy.group_window:
            batch.append(companion)
    named = {a.monitor for a in batch}
    others_told = [name for name in others_told if name not in named]
    if len(batch) + len(others_told) >= GROUP_MIN:
        return DownDecision(batch=batch, already_told=others_told)
    return DownDecision(batch=[alert])
