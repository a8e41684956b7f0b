"""The alert contract (DESIGN.md 6b) as a property: random transitions of several
monitors, two sinks (one that groups, one that cannot) failing and recovering with and
without Retry-After, the notifier restarted at any step and killed between a receiver's
answer and the commit. Whatever happens, per monitor and sink:

- alerts arrive in the order of the monitor's transitions, none lost;
- the only repeat is the alert a kill between the answer and the commit explains;
- a grouped message names distinct monitors, each once, never one monitor twice;
- a monitor's DOWN carries only DOWNs of monitors that depend on it (`depends_on`:
  linker and mcp need web, export needs linker), each once, whatever is down or failing;
- after each delivery round, an alert still waiting is either not due (its sink
  failed and rests), or a DOWN held for less than `group_wait`: never behind another
  monitor's alert.

Seeded and bounded (hypothesis `derandomize`), so `make test` runs the same examples."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from statuscore import MemoryStore, MonitorState, Status, make_monitor, no_jitter
from statuscore.alerts.base import AlertSink, Delivery
from statuscore.alerts.grouping import GroupPolicy
from statuscore.alerts.notifier import Notifier
from statuscore.dependencies import Dependencies
from statuscore.model import Alert
from statuscore.testing import FakeClock

MONITORS = ["web", "linker", "mcp", "export", "search"]
NEEDS = {"linker": ["web"], "mcp": ["web"], "export": ["linker"]}
DEPENDENCIES = Dependencies(
    make_monitor(name=name, url="http://127.0.0.1:9/", depends_on=NEEDS.get(name, [])) for name in MONITORS
)
T0 = datetime(2026, 6, 1, tzinfo=UTC)
POLICY = GroupPolicy(group_wait=10.0, group_window=60.0)


class Killed(Exception):
    """The runner died between the receiver's answer and the outbox commit."""


class KillableStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.kill_at_next_commit = False

    async def mark_delivered(self, alert_id: str, at: datetime) -> None:
        if self.kill_at_next_commit:
            self.kill_at_next_commit = False
            raise Killed()
        await super().mark_delivered(alert_id, at)


class RecordingSink(AlertSink[None]):
    """A receiver in memory: it answers as told, and records what it accepted."""

    name = "recording"
    Config = type(None)

    def __init__(self, instance_name: str) -> None:
        super().__init__(None, instance_name=instance_name)
        self.grouping = POLICY
        self.healthy = True
        self.retry_after: float | None = None
        self.received: list[Mapping[str, Any]] = []
        self.keys: list[str] = []

    async def deliver(self, payload: Mapping[str, Any], session: Any) -> Delivery:
        raise AssertionError("the notifier calls send")

    async def send(self, payload: Mapping[str, Any], session: Any, *, idempotency_key: str) -> Delivery:
        if not self.healthy:
            return Delivery(ok=False, error="HTTP 503", retry_after=self.retry_after)
        self.received.append(payload)
        self.keys.append(idempotency_key)
        return Delivery(ok=True)


class GroupingSink(RecordingSink):
    def group(self, alerts: Sequence[Alert], already_told: Sequence[str]) -> Mapping[str, Any]:
        return {"group": [alert.id for alert in alerts], "told": list(already_told)}

    def fold(self, payload: Mapping[str, Any], cause: Alert, affected: Sequence[Alert]) -> Mapping[str, Any]:
        return {**payload, "riders": [alert.id for alert in affected]}


def ids_in(payload: Mapping[str, Any]) -> list[str]:
    if "group" in payload:
        return list(payload["group"])
    return [payload["id"], *payload.get("riders", ())]


class AlertContract(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock(start=T0)
        self.store = KillableStore()
        self.sinks = {"chat": GroupingSink("chat"), "pager": RecordingSink("pager")}
        self.notifier = self._new_notifier()
        self.down = {name: False for name in MONITORS}
        self.failing: set[str] = set()  # checks fail, not DOWN yet
        self.queued: dict[tuple[str, str], list[str]] = {}  # (sink, monitor) -> ids, in order
        self.alerts: dict[str, Alert] = {}
        self.may_repeat: set[str] = set()
        self.count = 0

    def _new_notifier(self) -> Notifier:
        return Notifier(
            self.store,
            self.sinks,
            None,  # type: ignore[arg-type]
            self.clock,
            jitter=no_jitter,
            dependencies=DEPENDENCIES,
            status_of=self._state_of,
        )

    def _state_of(self, slug: str) -> MonitorState:
        status = Status.DOWN if self.down[slug] else Status.UP
        return MonitorState(status=status, consecutive_failures=int(self.down[slug] or slug in self.failing))

    def teardown(self) -> None:
        try:
            for sink in self.sinks.values():
                sink.healthy = True
            self.store.kill_at_next_commit = False
            for _ in range(200):
                if not self.store.alerts:
                    break
                self.clock.advance(self._deliver() or 0.0)
            assert not self.store.alerts, f"never delivered: {list(self.store.alerts)}"
            self._check_order(complete=True)
        finally:
            self.loop.close()

    # -- what happens -------------------------------------------------------------------

    @rule(monitors=st.lists(st.sampled_from(MONITORS), min_size=2, max_size=4, unique=True))
    def several_at_once(self, monitors: list[str]) -> None:
        """A shared dependency fails (or comes back): several transitions in one moment."""
        for monitor in monitors:
            self.transition(monitor)

    @rule(monitor=st.sampled_from(MONITORS))
    def transition(self, monitor: str) -> None:
        self.down[monitor] = not self.down[monitor]
        self.failing.discard(monitor)
        kind = "down" if self.down[monitor] else "recovered"
        self.count += 1
        fresh = []
        for sink in self.sinks:
            alert = Alert(
                id=f"{monitor}:{self.count}:{sink}",
                sink=sink,
                monitor=monitor,
                kind=kind,
                payload={"id": f"{monitor}:{self.count}:{sink}"},
                created_at=self.clock.now(),
            )
            self.alerts[alert.id] = alert
            self.queued.setdefault((sink, monitor), []).append(alert.id)
            fresh.append(alert)
        self.store.queue(fresh)

    @rule(monitor=st.sampled_from(MONITORS))
    def checks_fail(self, monitor: str) -> None:
        """A monitor's checks start failing, not enough yet for a DOWN (or stop failing)."""
        self.failing ^= {monitor}

    @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.0, 12.0, 30.0, 61.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(
        sink=st.sampled_from(["chat", "pager"]),
        healthy=st.booleans(),
        retry_after=st.sampled_from([None, None, 5.0, 120.0]),
    )
    def receiver(self, sink: str, healthy: bool, retry_after: float | None) -> None:
        self.sinks[sink].healthy = healthy
        self.sinks[sink].retry_after = retry_after

    @rule()
    def restart(self) -> None:
        """The runner restarts: what the notifier held in memory is gone, the store is not."""
        self.notifier = self._new_notifier()

    @rule()
    def kill_between_answer_and_commit(self) -> None:
        self.store.kill_at_next_commit = True

    @rule()
    def deliver(self) -> None:
        healthy = {name for name, sink in self.sinks.items() if sink.healthy}
        killing = self.store.kill_at_next_commit
        self._deliver()
        if not killing:
            self._check_nothing_deliverable_waits(healthy)

    def _deliver(self) -> float | None:
        before = {name: len(sink.received) for name, sink in self.sinks.items()}
        try:
            return self.loop.run_until_complete(self.notifier.deliver_due())
        except Killed:
            for name, sink in self.sinks.items():
                for payload in sink.received[before[name] :]:
                    self.may_repeat.update(ids_in(payload))
            self.notifier = self._new_notifier()
            return 0.0

    # -- what must hold -------------------------------------------------------------------

    @invariant()
    def order_kept_nothing_repeated_groups_distinct(self) -> None:
        self._check_order(complete=False)

    def _check_order(self, *, complete: bool) -> None:
        for name, sink in self.sinks.items():
            got: dict[str, list[str]] = {}
            for payload, key in zip(sink.received, sink.keys):
                ids = ids_in(payload)
                assert key == ids[0], "the idempotency key is the (first) alert's id"
                monitors = [self.alerts[i].monitor for i in ids]
                assert len(set(monitors)) == len(monitors), f"a group names a monitor twice: {ids}"
                if payload.get("riders"):
                    cause = self.alerts[ids[0]].monitor
                    assert all(self.alerts[i].kind == "down" for i in ids), payload
                    assert set(monitors[1:]) <= set(DEPENDENCIES.descendants(cause)), payload
                if "group" in payload:
                    assert all(self.alerts[i].kind == "down" for i in ids)
                    told = payload["told"]
                    assert len(set(told)) == len(told) and not set(told) & set(monitors), payload
                    assert len(ids) + len(told) >= 3, payload
                for alert_id in ids:
                    seen = got.setdefault(self.alerts[alert_id].monitor, [])
                    if alert_id in seen:
                        assert alert_id in self.may_repeat and seen[-1] == alert_id, (
                            f"{alert_id} repeated to {name} without a kill to explain it"
                        )
                        continue
                    seen.append(alert_id)
            for monitor in MONITORS:
                queued = self.queued.get((name, monitor), [])
                sent = got.get(monitor, [])
                assert sent == queued[: len(sent)], f"{name}/{monitor}: sent {sent}, queued {queued}"
                if complete:
                    assert sent == queued

    def _check_nothing_deliverable_waits(self, healthy: set[str]) -> None:
        now = self.clock.now()
        heads: dict[tuple[str, str], Alert] = {}
        for alert in self.store.alerts.values():
            heads.setdefault((alert.sink, alert.monitor), alert)
        for (sink, _), alert in heads.items():
            if sink not in healthy:
                continue
            rest = self.notifier.paused_until(sink)
            if (alert.next_try is not None and alert.next_try > now) or (rest is not None and rest > now):
                continue  # its sink failed a moment ago and rests
            held_for = (now - alert.created_at).total_seconds()
            assert alert.kind == "down" and not alert.attempts and held_for < POLICY.group_wait, (
                f"{alert.id} ({alert.kind}) waits {held_for:.1f} s on a healthy sink"
            )


AlertContract.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_alert_contract = AlertContract.TestCase
