"""Delivers queued alerts from the store: at least once, in order per sink, and
patiently: a failing sink is retried with backoff (or its Retry-After), never dropped.

Retries wait at most a minute, so alerts resume within a minute of the receiver coming
back; an alert delivered more than `LATE_AFTER` seconds after its transition says so,
so a burst of queued alerts is not mistaken for fresh news. DOWNs of several monitors
within a minute go out as one message (see `grouping`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Mapping

import aiohttp

from ..clock import Clock, SystemClock
from ..model import Alert
from ..store import Store
from ..redact import redact_urls
from .base import AlertSink, Delivery, late_note
from .grouping import ToldDown, plan_groups

log = logging.getLogger("statuscore.alerts")

DELIVERY_TIMEOUT = 20.0
MAX_RETRY_DELAY = 60.0
LATE_AFTER = 60.0


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Seconds before try `attempts + 1`: exponential (1, 2, 4 ... 60 s), or longer
    when the receiver asked for it with Retry-After."""
    delay = MAX_RETRY_DELAY if attempts > 16 else min(MAX_RETRY_DELAY, 2.0 ** (attempts - 1))
    return max(delay, retry_after or 0.0)


class Notifier:
    """Works through `store.pending_alerts()`; wake it when new alerts are recorded."""

    def __init__(self, store: Store, sinks: Mapping[str, AlertSink[Any]], session: aiohttp.ClientSession,
                 clock: Clock | None = None) -> None:
        self.store = store
        self.sinks = dict(sinks)
        self.session = session
        self.clock = clock or SystemClock()
        self.sent = 0
        self.failed = 0
        self._wake = asyncio.Event()
        self._last_failure: dict[str, datetime] = {}
        self._told_down = ToldDown()

    def wake(self) -> None:
        self._wake.set()

    async def deliver_due(self) -> float | None:
        """Send what is due now; returns seconds until the next retry is due, if any."""
        now = self.clock.now()
        blocked: set[str] = set()
        waits: list[float] = []
        pending = await self.store.pending_alerts(now, limit=500)
        plan = plan_groups(pending, self.sinks, self._told_down, now)
        for alert in pending:
            if alert.sink in blocked or plan.skipped(alert):
                continue
            # held for a group that may form, or not due: later alerts to this sink wait behind it
            not_before = plan.held.get(alert.id) or alert.next_try
            if not_before is not None and not_before > now:
                blocked.add(alert.sink)
                waits.append((not_before - now).total_seconds())
                continue
            sink = self.sinks.get(alert.sink)
            if sink is None:
                blocked.add(alert.sink)
                log.warning("alert %s waits for sink %r, which is not configured", alert.id, alert.sink)
                continue
            delay = await self._send(sink, alert, plan.groups.get(alert.id, [alert]), now)
            if delay is not None:
                blocked.add(alert.sink)
                waits.append(delay)
        return min(waits) if waits else None

    async def _send(self, sink: AlertSink[Any], alert: Alert, batch: list[Alert], now: datetime) -> float | None:
        """Deliver `alert` (with the rest of its group); the retry delay when it failed."""
        grouped = self._group_payload(sink, batch, now) if len(batch) > 1 else None
        if grouped is None:
            batch = [alert]  # the others go one by one in later rounds
        outcome = await self._deliver(sink, self._as_sent(sink, alert, grouped or alert.payload))
        if outcome.ok:
            self.sent += 1
            for sent in batch:
                await self.store.mark_delivered(sent.id, self.clock.now())
                self._told_down.add(sent)
            log.info("alert delivered: %s %s via %s", ", ".join(a.monitor for a in batch), alert.kind, alert.sink)
            return None
        self.failed += 1
        self._last_failure[alert.sink] = self.clock.now()
        attempts = alert.attempts + 1
        delay = retry_delay(attempts, outcome.retry_after)
        for failed in batch:
            await self.store.mark_failed(failed.id, attempts=attempts, error=outcome.error or "failed",
                                         next_try=self.clock.now() + timedelta(seconds=delay))
        log.warning("alert to %s for %s failed (try %d: %s); next try in %.0f s",
                    alert.sink, alert.monitor, attempts, outcome.error, delay)
        return delay

    def _group_payload(self, sink: AlertSink[Any], batch: list[Alert], now: datetime) -> Mapping[str, Any] | None:
        told = [name for _, name in self._told_down.recent(batch[0].sink, now)]
        try:
            return sink.group(batch, told)
        except Exception:  # a plugin's bug here must not hold the alerts back
            log.exception("sink %s could not group alerts", sink.instance_name)
            return None

    def _as_sent(self, sink: AlertSink[Any], alert: Alert, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The payload, marked late when the transition is more than a minute old."""
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

    async def _deliver(self, sink: AlertSink[Any], payload: Mapping[str, Any]) -> Delivery:
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                return await sink.deliver(payload, self.session)
        except (asyncio.TimeoutError, TimeoutError):
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
            done, pending = await asyncio.wait(waiters, timeout=wait if wait is not None else 60.0,
                                               return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
