"""Per-monitor state machine: results in, transitions out. Pure: no I/O, no clock.

People are told about changes, not about every failed check: a monitor goes DOWN after
`failure_threshold` failed runs in a row and back after `success_threshold` good ones;
MAINTENANCE is recorded but never alerted; a monitor that keeps flipping is reported
once as flapping instead of once per flip, and once more when it settles: as soon as it
has held one status for `flap_settle` checks in a row (so flapping that ends in a real
outage is reported at once, not an hour later), or when no flip came for `flap_window`.

A monitor checked from several regions is judged on their votes first (`count_votes`):
DOWN only when `quorum` regions saw it down within one interval; a region with no recent
vote is unknown, never down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .frozen import builder, quick_init
from .model import (
    DEGRADED,
    DOWN,
    MAINTENANCE,
    UNKNOWN,
    CheckResult,
    Monitor,
    Status,
    Transition,
    TransitionKind,
    new_transition,
)

_ALERTED_MOVES = frozenset((TransitionKind.DOWN, TransitionKind.RECOVERED))  # where flapping is counted


@quick_init
@dataclass(frozen=True, slots=True)
class MonitorState:
    """What the store keeps per monitor so a restart neither repeats nor loses an alert."""

    status: Status = Status.UNKNOWN
    since: datetime | None = None
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    failing_since: datetime | None = None
    last_result: CheckResult | None = None
    last_alert_at: datetime | None = None
    flips: tuple[datetime, ...] = ()
    flapping: bool = False


new_state = builder(MonitorState)  # for every check: see `model.new_result`


def advance(state: MonitorState, result: CheckResult, monitor: Monitor) -> tuple[MonitorState, list[Transition]]:
    """The state after `result`, and the transitions it caused (usually none)."""
    now = result.checked_at
    observed = result.status
    if observed is MAINTENANCE:
        if state.status is MAINTENANCE:
            return replace(state, last_result=result), []
        new = MonitorState(status=MAINTENANCE, since=now, last_result=result, flips=state.flips)
        return new, [
            _transition(
                state.status,
                new,
                result,
                TransitionKind.MAINTENANCE,
                since=now,
                duration=_seconds_since(state.since, now),
                notify=False,
            )
        ]

    target = _target_status(state, observed, monitor)
    if target is state.status:
        return _unchanged(_counted(state, result, state.status, state.since), result, monitor)

    kind, notify = _classify(state.status, target, monitor)
    failing_since = state.failing_since or now
    new_since = failing_since if target is DOWN else now
    new = _counted(state, result, target, new_since)
    flapping_started = False
    if kind in _ALERTED_MOVES:
        new, notify, flapping_started = _track_flapping(new, now, monitor)
    if notify or flapping_started:
        new = replace(new, last_alert_at=now)
    if kind is TransitionKind.RECOVERED:
        since, duration = state.since or now, _seconds_since(state.since, now)
    else:
        since, duration = new_since, _seconds_since(state.since, now)
    transitions = [_transition(state.status, new, result, kind, since=since, duration=duration, notify=notify)]
    if flapping_started:
        transitions.append(
            _transition(
                state.status, new, result, TransitionKind.FLAPPING, since=new.flips[0], duration=None, notify=True
            )
        )
    return new, transitions


def _counted(state: MonitorState, result: CheckResult, status: Status, since: datetime | None) -> MonitorState:
    """`state` with `result` counted in, at `status` since `since`; built directly, not by
    `replace` (several times dearer) and only once on a move, since it runs on every
    check and every monitor's first check moves from UNKNOWN (bench/engine.py)."""
    failed = result.status is DOWN
    return new_state(
        status=status,
        since=since,
        consecutive_failures=state.consecutive_failures + 1 if failed else 0,
        consecutive_successes=0 if failed else state.consecutive_successes + 1,
        failing_since=(state.failing_since or result.checked_at) if failed else None,
        last_result=result,
        last_alert_at=state.last_alert_at,
        flips=state.flips,
        flapping=state.flapping,
    )


def _target_status(state: MonitorState, observed: Status, monitor: Monitor) -> Status:
    """Where `observed` takes `state` (as it was before this check was counted)."""
    if observed is DOWN:
        if state.status is not DOWN and state.consecutive_failures + 1 >= monitor.failure_threshold:
            return DOWN
        return state.status
    if state.status is DOWN and state.consecutive_successes + 1 < monitor.success_threshold:
        return DOWN
    return observed


def _classify(previous: Status, current: Status, monitor: Monitor) -> tuple[TransitionKind, bool]:
    if current is DOWN:
        return TransitionKind.DOWN, True
    if previous is DOWN:
        return TransitionKind.RECOVERED, True
    if previous is UNKNOWN:
        return TransitionKind.FIRST, False
    if previous is MAINTENANCE:
        return TransitionKind.MAINTENANCE_ENDED, False
    if current is DEGRADED:
        return TransitionKind.DEGRADED, monitor.notify_degraded
    return TransitionKind.IMPROVED, monitor.notify_degraded


def _unchanged(state: MonitorState, result: CheckResult, monitor: Monitor) -> tuple[MonitorState, list[Transition]]:
    now = result.checked_at
    if state.flapping and (
        _held(state) >= monitor.flap_settle
        or not state.flips
        or (now - state.flips[-1]).total_seconds() >= monitor.flap_window
    ):
        settled = replace(state, flapping=False, flips=(), last_alert_at=now)
        first_flip = state.flips[0] if state.flips else now
        return settled, [
            _transition(
                state.status, settled, result, TransitionKind.SETTLED, since=first_flip, duration=None, notify=True
            )
        ]
    if state.status is DOWN and monitor.reminder_every and not state.flapping:
        last = state.last_alert_at or state.since or now
        if (now - last).total_seconds() >= monitor.reminder_every:
            reminded = replace(state, last_alert_at=now)
            return reminded, [
                _transition(
                    state.status,
                    reminded,
                    result,
                    TransitionKind.REMINDER,
                    since=state.since or now,
                    duration=_seconds_since(state.since, now),
                    notify=True,
                )
            ]
    return state, []


def _held(state: MonitorState) -> int:
    """Checks in a row that agreed with the current status."""
    if state.status is DOWN:
        return state.consecutive_failures
    return state.consecutive_successes


def _track_flapping(state: MonitorState, now: datetime, monitor: Monitor) -> tuple[MonitorState, bool, bool]:
    """(state, notify this change?, flapping just started?) for a DOWN<->good change."""
    recent = tuple(t for t in state.flips if (now - t).total_seconds() < monitor.flap_window)
    flips = recent + (now,)
    if state.flapping:
        return replace(state, flips=flips), False, False
    if monitor.flap_threshold and len(flips) > monitor.flap_threshold:
        return replace(state, flips=flips, flapping=True), False, True
    return replace(state, flips=flips), True, False


def _seconds_since(start: datetime | None, now: datetime) -> float | None:
    return (now - start).total_seconds() if start else None


def _transition(
    previous: Status,
    new: MonitorState,
    result: CheckResult,
    kind: TransitionKind,
    *,
    since: datetime,
    duration: float | None,
    notify: bool,
) -> Transition:
    return new_transition(
        monitor=result.monitor,
        slug=result.slug,
        kind=kind,
        previous=previous,
        current=new.status,
        at=result.checked_at,
        since=since,
        duration=duration,
        result=result,
        notify=notify,
    )


@dataclass(frozen=True, slots=True)
class RegionVote:
    """What one region saw of a monitor at its last check."""

    region: str
    status: Status
    checked_at: datetime
    error: str | None = None


def vote_freshness(monitor: Monitor, delay: float = 0.0) -> timedelta:
    """How old a region's vote may be and still count: one interval plus the longest
    one check (with its retries) may take, plus `delay` seconds for it to arrive."""
    return timedelta(
        seconds=monitor.interval
        + monitor.timeout * monitor.max_attempts
        + monitor.retry_delay * monitor.retries
        + delay
    )


def count_votes(
    monitor: Monitor, region: str, result: CheckResult, others: Mapping[str, RegionVote], *, delay: float = 0.0
) -> CheckResult:
    """`result` (what `region` saw) judged with the other regions' latest votes, for the
    state machine: DOWN with `quorum` down votes, else not DOWN; the error says who saw what.
    `delay`: the seconds another region's vote may take to reach the caller (its writer's
    batch, the caller's next read), beyond `vote_freshness`'s interval and check."""
    seen = {**others, region: RegionVote(region, result.status, result.checked_at, result.error)}
    oldest = result.checked_at - vote_freshness(monitor, delay)
    votes = {name: seen[name] for name in monitor.regions if name in seen and seen[name].checked_at >= oldest}
    down = [name for name, vote in votes.items() if vote.status is Status.DOWN]
    unknown = [name for name in monitor.regions if name not in votes]
    summary = "; ".join(
        [f"{name}: {_said(vote)}" for name, vote in votes.items()]
        + [f"{name}: unknown (no recent check from there)" for name in unknown]
    )
    needed, listed = monitor.votes_needed, len(monitor.regions)
    if len(down) >= needed:
        return replace(
            result, status=Status.DOWN, error=f"down from {len(down)} of {listed} regions (quorum {needed}): {summary}"
        )
    if not down and not unknown:
        return result
    status = Status.UP if result.status is Status.DOWN else result.status
    return replace(
        result,
        status=status,
        error=f"not down: {len(down)} of {listed} regions saw it down (quorum {needed}): {summary}",
    )


def _said(vote: RegionVote) -> str:
    if vote.status is Status.DOWN and vote.error:
        return f"down ({vote.error[:200]})"
    return vote.status.value
