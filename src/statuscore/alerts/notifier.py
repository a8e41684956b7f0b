"""Delivers queued alerts from the store: at least once, in order per monitor and
sink, and patiently: a failing sink is retried with backoff (or its Retry-After), never
dropped, and one monitor's held or failing alert never delays another monitor's.

Retries wait at most a minute (`backoff.expo` with full jitter), so alerts resume within a
minute of the receiver coming back; an alert delivered more than `LATE_AFTER` seconds
after its transition says so, so a burst of queued alerts is not mistaken for fresh news.
DOWNs of several monitors close together go out as one message (see `grouping`), and a
monitor's DOWN carries those of the monitors that depend on it (see `folding`). Each
delivery carries the alert's id as its idempotency key (`AlertSink.send`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from ..clock import Clock, SystemClock
from ..delays import Jitter, backoff_delay
from ..dependencies import Dependencies
from ..model import Alert
from ..redact import redact_urls
from ..store import Store
from .base import AlertSink, Delivery, late_note
from .combining import combined_payload, decide, dependency_notes
from .folding import StatusOf
from .grouping import DownDecision, ToldDown, down_heads

log = logging.getLogger("statuscore.alerts")

DELIVERY_TIMEOUT = 20.0
MAX_RETRY_DELAY = 60.0
LATE_AFTER = 60.0


def retry_delay(attempts: int, retry_after: float | None, jitter: Jitter | None = None) -> float:
    """Seconds before try `attempts + 1`: exponential (up to 1, 2, 4 ... 60 s, jittered),
    or longer when the receiver asked for it with Retry-After."""
    return max(backoff_delay(attempts, first=1.0, cap=MAX_RETRY_DELAY, jitter=jitter), retry_after or 0.0)


class Notifier:
    """Works through `store.pending_alerts()`; wake it when new alerts are recorded."""

    def __init__(
        self,
        store: Store,
        sinks: Mapping[str, AlertSink[Any]],
        session: aiohttp.ClientSession,
        clock: Clock | None = None,
        *,
        jitter: Jitter | None = None,
        dependencies: Dependencies | None = None,
        status_of: StatusOf | None = None,
    ) -> None:
        self.store = store
        self.sinks = dict(sinks)
        self.session = session
        self.clock = clock or SystemClock()
        self.jitter = jitter  # None: full jitter; tests pass `no_jitter`
        self.sent = 0
        self.failed = 0
        self._wake = asyncio.Event()
        self._last_failure: dict[str, datetime] = {}
        self._paused: dict[str, datetime] = {}  # a failing sink: no try before then
        self._told_down = ToldDown()
        self.dependencies = dependencies or Dependencies(())
        self.status_of: StatusOf = status_of or (lambda slug: None)  # a monitor's state, by slug

    def wake(self) -> None:
        self._wake.set()

    def paused_until(self, sink: str) -> datetime | None:
        """When a failing sink is tried again (None: it is not failing)."""
        return self._paused.get(sink)

    async def deliver_due(self) -> float | None:
        """Send what is due now; returns seconds until the next retry or hold ends, if any."""
        for _ in range(3):
            wait, again = await self._deliver_round()
            if not again:
                return wait
        return 0.0  # still more riders' later alerts to pass over: go again at once

    async def _deliver_round(self) -> tuple[float | None, bool]:
        """One pass over the queue: the next wait, and whether a held DOWN went inside
        another's message, so its monitor's later alerts, passed over, may go (go again)."""
        now = self.clock.now()
        pending = await self.store.pending_alerts(now, limit=500)
        done = _Round.of(pending, now)
        for alert in pending:
            pair = (alert.sink, alert.monitor)
            if alert.id in done.sent or pair in done.blocked:
                continue
            sink = self._ready_sink(alert, done)
            if sink is None:
                continue
            # only a DOWN is folded: skip the scan of the sink's queued DOWNs for the rest
            queued = done.queued_downs(alert.sink) if alert.kind == "down" and self.dependencies else set()
            decision = decide(
                sink,
                alert,
                done.others(alert),
                queued,
                told_down=self._told_down,
                dependencies=self.dependencies,
                status_of=self.status_of,
                first=alert.sink not in done.holding,
                now=now,
            )
            if decision.hold_until is not None:  # a group or a dependency's message may be forming
                done.hold(pair, decision)
                continue
            done.after_send(decision, await self._send(sink, alert, decision, now))
        return (min(done.waits) if done.waits else None), done.again

    def _ready_sink(self, alert: Alert, done: _Round) -> AlertSink[Any] | None:
        """The alert's sink if the alert may be tried now; else None, noted in `done`."""
        not_before = self._not_before(alert)
        if not_before is not None and not_before > done.now:
            done.wait((alert.sink, alert.monitor), (not_before - done.now).total_seconds())
            return None
        sink = self.sinks.get(alert.sink)
        if sink is None:
            done.blocked.add((alert.sink, alert.monitor))
            log.warning("alert %s waits for sink %r, which is not configured", alert.id, alert.sink)
        return sink

    def _not_before(self, alert: Alert) -> datetime | None:
        """When `alert` may be tried: its own retry time or its sink's pause, the later."""
        times = [t for t in (alert.next_try, self._paused.get(alert.sink)) if t is not None]
        return max(times) if times else None

    async def _send(self, sink: AlertSink[Any], alert: Alert, decision: DownDecision, now: datetime) -> float | None:
        """Deliver `alert` (with the rest of its group); the retry delay when it failed."""
        batch: Sequence[Alert] = decision.batch
        payload: Mapping[str, Any] = alert.payload
        if len(batch) > 1:
            combined = combined_payload(sink, decision)
            if combined is None:
                batch = [alert]  # the others go one by one
            else:
                payload = combined
        payload = dependency_notes(sink, batch, payload, self.dependencies, self.status_of)
        outcome = await self._deliver(sink, self._as_sent(sink, alert, payload), alert.id)
        if outcome.ok:
            self.sent += 1
            self._paused.pop(alert.sink, None)
            for member in batch:
                await self.store.mark_delivered(member.id, self.clock.now())
                self._told_down.add(member)
            log.info("alert delivered: %s %s via %s", ", ".join(a.monitor for a in batch), alert.kind, alert.sink)
            return None
        self.failed += 1
        self._last_failure[alert.sink] = self.clock.now()
        attempts = alert.attempts + 1
        delay = retry_delay(attempts, outcome.retry_after, self.jitter)
        next_try = self.clock.now() + timedelta(seconds=delay)
        self._paused[alert.sink] = next_try  # the receiver is failing: give it the same rest
        for member in batch:
            await self.store.mark_failed(
                member.id, attempts=attempts, error=outcome.error or "failed", next_try=next_try
            )
        log.warning(
            "alert to %s for %s failed (try %d: %s); next try in %.0f s",
            alert.sink,
            alert.monitor,
            attempts,
            outcome.error,
            delay,
        )
        return delay

    def _as_sent(self, sink: AlertSink[Any], alert: Alert, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The payload with the alert's note, if any, and marked late when the transition
        is more than a minute old."""
        if alert.note:
            try:
                payload = sink.add_note(payload, alert.note)
            except Exception:  # a plugin's bug here must not hold the alert back
                log.exception("sink %s could not add a note to an alert", sink.instance_name)
        late_by = (self.clock.now() - alert.created_at).total_seconds()
        if late_by <= LATE_AFTER:
            return payload
        failed_at = self._last_failure.get(alert.sink)
        if alert.attempts or (failed_at is not None and failed_at >= alert.created_at):
            cause = f"{sink.label} was unreachable"
        else:
            cause = "alert delivery was delayed"  # e.g. the runner was stopped meanwhile
        try:
            return sink.mark_late(payload, late_note(late_by, cause), late_by)
        except Exception:  # a plugin's bug here must not hold the alert back
            log.exception("sink %s could not mark an alert late", sink.instance_name)
            return payload

    async def _deliver(self, sink: AlertSink[Any], payload: Mapping[str, Any], key: str) -> Delivery:
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                return await sink.send(payload, self.session, idempotency_key=key)
        except TimeoutError:
            return Delivery(ok=False, error=f"no answer within {DELIVERY_TIMEOUT:.0f} s")
        except aiohttp.ClientError as exc:  # its text may quote the secret URL: keep the host only
            return Delivery(ok=False, error=redact_urls(f"{type(exc).__name__}: {exc}".split("\n")[0])[:200])
        except Exception as exc:  # a sink plugin's bug must not stop other alerts
            log.error("sink %s raised %s", sink.instance_name, type(exc).__name__)
            return Delivery(ok=False, error=redact_urls(f"sink error: {type(exc).__name__}: {exc}")[:200])

    async def run(self, stopping: asyncio.Event) -> None:
        """Deliver until `stopping` is set; wakes on new alerts and on retry times."""
        while not stopping.is_set():
            self._wake.clear()
            try:
                wait = await self.deliver_due()
            except Exception:  # the store may be briefly unreachable: try again soon
                log.exception("alert delivery round failed")
                wait = 5.0
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
            done, pending = await asyncio.wait(
                waiters, timeout=wait if wait is not None else 60.0, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()


@dataclass
class _Round:
    """One pass over the queue: what it sent, held and left waiting so far."""

    now: datetime
    heads: dict[str, list[Alert]]  # per sink, the due DOWNs at the head of their monitor's queue
    downs: dict[str, dict[str, list[str]]]  # per sink and monitor, the queued DOWNs' ids
    blocked: set[tuple[str, str]] = field(default_factory=set)  # (sink, monitor): later alerts wait
    holding: set[str] = field(default_factory=set)  # sinks with a DOWN held for a group
    sent: set[str] = field(default_factory=set)
    waits: list[float] = field(default_factory=list)
    again: bool = False

    @classmethod
    def of(cls, pending: Sequence[Alert], now: datetime) -> _Round:
        downs: dict[str, dict[str, list[str]]] = {}
        for alert in pending:
            if alert.kind == "down":
                downs.setdefault(alert.sink, {}).setdefault(alert.monitor, []).append(alert.id)
        return cls(now, down_heads(pending, now), downs)

    def others(self, alert: Alert) -> list[Alert]:
        return [head for head in self.heads.get(alert.sink, ()) if head.id not in self.sent and head.id != alert.id]

    def queued_downs(self, sink: str) -> set[str]:
        """The monitors with a DOWN for `sink` not sent yet."""
        return {monitor for monitor, ids in self.downs.get(sink, {}).items() if not self.sent.issuperset(ids)}

    def wait(self, pair: tuple[str, str], seconds: float) -> None:
        self.blocked.add(pair)
        self.waits.append(seconds)

    def hold(self, pair: tuple[str, str], decision: DownDecision) -> None:
        assert decision.hold_until is not None
        self.wait(pair, (decision.hold_until - self.now).total_seconds())
        if not decision.folded:
            self.holding.add(pair[0])

    def after_send(self, decision: DownDecision, delay: float | None) -> None:
        """`delay`: None when delivered, else the retry delay."""
        if delay is None:
            self.sent.update(member.id for member in decision.batch)
            # a rider's later alerts wait behind it until the next pass, in order
            self.again = self.again or (decision.folded and len(decision.batch) > 1)
        else:
            for member in decision.batch:
                self.blocked.add((member.sink, member.monitor))
            self.waits.append(delay)
