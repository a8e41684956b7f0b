"""The state machine: pure, so every path is walked without an event loop."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from statuscore import (
    CheckResult,
    MonitorState,
    RegionVote,
    Status,
    TransitionKind,
    advance,
    count_votes,
    make_monitor,
    utcnow,
)
from tests.statuscore.helpers import T0, monitor, result

UP, DOWN, DEGRADED, MAINT = Status.UP, Status.DOWN, Status.DEGRADED, Status.MAINTENANCE


def walk(mon, statuses, state=None):
    """Feed one result a minute; return the final state and every transition."""
    state = state or MonitorState()
    seen = []
    for minute, status in enumerate(statuses):
        state, transitions = advance(state, result(status, minute), mon)
        seen.extend(transitions)
    return state, seen


def test_state_initializes_from_a_restored_state():
    restored = MonitorState(status=DOWN, since=T0)
    state, transitions = advance(restored, result(DOWN, 5), monitor())
    assert transitions == []
    assert state.status is DOWN and state.since == T0


def test_state_detects_up_to_down():
    _, transitions = walk(monitor(), [UP, DOWN])
    assert [t.kind for t in transitions] == [TransitionKind.FIRST, TransitionKind.DOWN]
    down = transitions[-1]
    assert (down.previous, down.current, down.notify) == (UP, DOWN, True)
    assert down.since == result(DOWN, 1).checked_at


def test_state_detects_down_to_up_with_downtime():
    _, transitions = walk(monitor(), [UP, DOWN, DOWN, DOWN, DOWN, UP])
    recovered = transitions[-1]
    assert recovered.kind is TransitionKind.RECOVERED
    assert recovered.duration == 4 * 60
    assert recovered.since == result(DOWN, 1).checked_at
    assert recovered.notify


def test_state_no_transition_when_stable():
    _, transitions = walk(monitor(), [UP, UP, UP, UP])
    assert [t.kind for t in transitions] == [TransitionKind.FIRST]
    assert not transitions[0].notify


def test_first_check_down_alerts():
    _, transitions = walk(monitor(), [DOWN])
    assert [(t.kind, t.notify) for t in transitions] == [(TransitionKind.DOWN, True)]


def test_failure_threshold_waits_for_consecutive_failures_and_dates_the_outage_from_the_first():
    mon = monitor(failure_threshold=3)
    state, transitions = walk(mon, [UP, DOWN, DOWN, UP, DOWN, DOWN, DOWN])
    downs = [t for t in transitions if t.kind is TransitionKind.DOWN]
    assert len(downs) == 1
    assert downs[0].at == result(DOWN, 6).checked_at
    assert downs[0].since == result(DOWN, 4).checked_at
    assert state.since == result(DOWN, 4).checked_at


def test_success_threshold_keeps_it_down_until_enough_good_runs():
    _, transitions = walk(monitor(success_threshold=2), [UP, DOWN, UP, DOWN, UP, UP])
    kinds = [t.kind for t in transitions]
    assert kinds == [TransitionKind.FIRST, TransitionKind.DOWN, TransitionKind.RECOVERED]


def test_degraded_is_recorded_but_not_alerted_by_default():
    _, transitions = walk(monitor(), [UP, DEGRADED, UP])
    assert [(t.kind, t.notify) for t in transitions[1:]] == [
        (TransitionKind.DEGRADED, False),
        (TransitionKind.IMPROVED, False),
    ]
    _, noisy = walk(monitor(notify_degraded=True), [UP, DEGRADED])
    assert noisy[-1].notify


def test_down_from_degraded_alerts_and_recovery_to_degraded_alerts():
    _, transitions = walk(monitor(), [DEGRADED, DOWN, DEGRADED])
    assert [(t.kind, t.notify) for t in transitions[1:]] == [
        (TransitionKind.DOWN, True),
        (TransitionKind.RECOVERED, True),
    ]


def test_maintenance_never_alerts():
    _, transitions = walk(monitor(), [UP, MAINT, MAINT, UP])
    assert [(t.kind, t.notify) for t in transitions[1:]] == [
        (TransitionKind.MAINTENANCE, False),
        (TransitionKind.MAINTENANCE_ENDED, False),
    ]


def test_down_after_maintenance_alerts():
    _, transitions = walk(monitor(), [UP, MAINT, DOWN])
    assert (transitions[-1].kind, transitions[-1].notify) == (TransitionKind.DOWN, True)


def test_reminders_while_down():
    _, transitions = walk(monitor(reminder_every="30m"), [UP] + [DOWN] * 65)
    reminders = [t for t in transitions if t.kind is TransitionKind.REMINDER]
    assert [(t.at - T0).total_seconds() / 60 for t in reminders] == [31, 61]
    assert reminders[0].duration == 30 * 60


def test_no_reminders_unless_asked():
    _, transitions = walk(monitor(), [UP] + [DOWN] * 200)
    assert not [t for t in transitions if t.kind is TransitionKind.REMINDER]


def test_flapping_is_reported_once_not_every_flip_and_again_when_settled():
    mon = monitor(flap_threshold=3, flap_window="30m")
    flips = [UP] + [DOWN, UP] * 6 + [UP] * 40
    state, transitions = walk(mon, flips)
    notified = [t.kind for t in transitions if t.notify]
    assert notified == [
        TransitionKind.DOWN,
        TransitionKind.RECOVERED,
        TransitionKind.DOWN,
        TransitionKind.FLAPPING,
        TransitionKind.SETTLED,
    ]
    settled = transitions[-1]
    assert settled.current is UP
    assert not state.flapping


def test_flapping_that_ends_in_an_outage_is_reported_after_flap_settle_checks_not_an_hour():
    """Six flips, then down for good: one alert stating DOWN after five down checks
    in a row (the default flap_settle), long before the one-hour flap_window ends."""
    mon = monitor(flap_threshold=3)
    state, transitions = walk(mon, [UP] + [DOWN, UP] * 3 + [DOWN] * 30)
    notified = [t for t in transitions if t.notify]
    assert [t.kind for t in notified] == [
        TransitionKind.DOWN,
        TransitionKind.RECOVERED,
        TransitionKind.DOWN,
        TransitionKind.FLAPPING,
        TransitionKind.SETTLED,
    ]
    settled = notified[-1]
    assert settled.current is DOWN
    assert settled.at == result(DOWN, 7 + 4).checked_at  # the fifth down check in a row
    assert state.status is DOWN and not state.flapping


def test_flap_settle_is_a_key_and_flips_still_count_within_the_window():
    mon = monitor(flap_threshold=3, flap_settle=2)
    _, transitions = walk(mon, [UP] + [DOWN, UP] * 3 + [UP, UP])
    assert [t.kind for t in transitions if t.notify][-1] is TransitionKind.SETTLED
    still_flipping = monitor(flap_threshold=3, flap_settle=10)
    state, transitions = walk(still_flipping, [UP] + [DOWN, UP] * 3 + [DOWN, DOWN, UP] * 3)
    assert state.flapping  # never held a status for 10 checks
    assert [t.kind for t in transitions if t.notify][-1] is TransitionKind.FLAPPING


def test_flapping_off_with_zero_threshold():
    _, transitions = walk(monitor(flap_threshold=0), [UP] + [DOWN, UP] * 10)
    assert sum(1 for t in transitions if t.notify) == 20


def test_counting_a_result_keeps_every_other_field_of_the_state():
    """`_counted` builds the state field by field (for speed): a field added to
    MonitorState later must be carried over there too, or this fails."""
    import dataclasses
    from datetime import datetime

    from statuscore import CheckResult
    from statuscore.state import _counted

    at = datetime(2026, 12, 4, tzinfo=UTC)
    result = CheckResult(monitor="m", slug="m", status=Status.UP, checked_at=at, latency=0.1)
    state = MonitorState(
        status=Status.DEGRADED,
        since=at,
        consecutive_failures=3,
        consecutive_successes=0,
        failing_since=at,
        last_result=None,
        last_alert_at=at,
        flips=(at,),
        flapping=True,
    )
    counted = _counted(state, result, state.status, state.since)
    changed = {"consecutive_failures", "consecutive_successes", "failing_since", "last_result"}
    for field in dataclasses.fields(MonitorState):
        if field.name not in changed:
            assert getattr(counted, field.name) == getattr(state, field.name), field.name
    assert set(f.name for f in dataclasses.fields(MonitorState)) - changed == {
        "status",
        "since",
        "last_alert_at",
        "flips",
        "flapping",
    }, "a new field: copy it in _counted"


# -- monitors checked from several regions: the votes, before the state machine --------

REGIONAL = make_monitor(
    name="Site",
    url="http://127.0.0.1:1/",
    interval="60s",
    timeout="5s",
    retries=0,
    regions=["eu", "us", "ap"],
    quorum=2,
)


def seen_here(status: Status, error: str | None = None) -> CheckResult:
    return CheckResult(monitor="Site", slug="site", status=status, checked_at=utcnow(), latency=0.1, error=error)


def seen(region: str, status: Status, age: float = 10, error: str | None = None) -> RegionVote:
    return RegionVote(region, status, utcnow() - timedelta(seconds=age), error)


def test_down_needs_the_quorum_of_regions_and_says_who_saw_what():
    one = count_votes(
        REGIONAL, "eu", seen_here(Status.DOWN, "timed out"), {"us": seen("us", Status.UP), "ap": seen("ap", Status.UP)}
    )
    assert one.status is Status.UP
    assert one.error == ("not down: 1 of 3 regions saw it down (quorum 2): eu: down (timed out); us: up; ap: up")
    two = count_votes(
        REGIONAL,
        "eu",
        seen_here(Status.DOWN, "timed out"),
        {"us": seen("us", Status.DOWN, error="HTTP 503"), "ap": seen("ap", Status.UP)},
    )
    assert two.status is Status.DOWN
    assert two.error.startswith("down from 2 of 3 regions (quorum 2): eu: down (timed out); us: down (HTTP 503)")


def test_a_region_with_no_recent_vote_is_unknown_never_down():
    stale = seen("us", Status.DOWN, age=3600)  # older than an interval and a check
    verdict = count_votes(REGIONAL, "eu", seen_here(Status.DOWN), {"us": stale})
    assert verdict.status is Status.UP
    assert "us: unknown (no recent check from there); ap: unknown" in verdict.error
    all_up = count_votes(
        REGIONAL, "eu", seen_here(Status.UP), {"us": seen("us", Status.UP), "ap": seen("ap", Status.UP)}
    )
    assert all_up.status is Status.UP and all_up.error is None


def test_a_vote_still_on_its_way_counts_for_the_time_it_takes_to_arrive():
    """Another region's vote reaches the decider after its writer's batch and the decider's
    next read: with that delay allowed, a vote older than an interval and a check counts."""
    late = seen("us", Status.DOWN, age=REGIONAL.interval + REGIONAL.timeout + 3, error="HTTP 503")
    alone = count_votes(REGIONAL, "eu", seen_here(Status.DOWN), {"us": late, "ap": seen("ap", Status.UP)})
    assert alone.status is Status.UP and "us: unknown" in alone.error
    allowed = count_votes(REGIONAL, "eu", seen_here(Status.DOWN), {"us": late, "ap": seen("ap", Status.UP)}, delay=4)
    assert allowed.status is Status.DOWN and "us: down (HTTP 503)" in allowed.error
    too_old = seen("us", Status.DOWN, age=REGIONAL.interval + REGIONAL.timeout + 5)
    assert count_votes(REGIONAL, "eu", seen_here(Status.DOWN), {"us": too_old}, delay=4).status is Status.UP


def test_quorum_defaults_to_a_majority_and_is_validated():
    assert make_monitor(name="A", url="http://127.0.0.1:1/", regions=["eu", "us"]).votes_needed == 2
    assert make_monitor(name="A", url="http://127.0.0.1:1/", regions=["eu", "us", "ap"]).votes_needed == 2
    with pytest.raises(Exception, match="quorum"):
        make_monitor(name="A", url="http://127.0.0.1:1/", regions=["eu"], quorum=2)
