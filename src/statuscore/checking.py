"""Running one check, start to end, in one place: build it from its plugin, try it
under one deadline, judge the attempt, and retry what may pass on a second try.

The runner owns the deadline, turning exceptions into reasons, the duration and the
conditions, so a check type (built-in or a plugin) only probes. Connection errors,
timeouts and 5xx are retried `retries` times `retry_delay` apart (fixed, or doubling
with `retry_backoff = "exponential"`), sleeping on the injected `Clock`; a 4xx or a
failed condition is final at once, since asking again would only delay the alert.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import aiohttp

from .checks.base import CheckContext, CheckType
from .clock import Clock, utcnow
from .conditions import Observation
from .deadlines import Deadline
from .durations import format_duration
from .errors import PluginError
from .model import DEGRADED, DOWN, MAINTENANCE, UNKNOWN, UP, Attempt, CheckResult, Monitor, Status, new_result
from .plugins import PluginRegistry
from .push import PushLedger
from .reasons import describe_exception, phase_when_raised

log = logging.getLogger("statuscore.check")


def build_check(monitor: Monitor, registry: PluginRegistry) -> MonitorCheck:
    """The runner for `monitor`, with its check type's plugin class instantiated once."""
    provided = registry.check_type(monitor.type)
    if provided is None:
        raise PluginError(f"monitor {monitor.name!r}: check type {monitor.type!r} is not installed")
    return MonitorCheck(monitor, provided.cls(monitor.options))


class MonitorCheck:
    """Runs one monitor's check with its retry policy; built once per monitor."""

    def __init__(self, monitor: Monitor, check: CheckType[Any]) -> None:
        self.monitor = monitor
        self.check = check

    async def run(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        pushes: PushLedger | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> CheckResult:
        """One scheduled check: tries until one passes, one fails for good, or the
        retries are spent. Never raises (but for cancellation). Pass the running `loop`
        when you have it (see `Deadline`)."""
        monitor = self.monitor
        loop = loop or asyncio.get_running_loop()
        checked_at = clock.now()
        delay = monitor.retry_delay
        tries = 0
        while True:
            tries += 1
            attempt, latency = await run_attempt(
                self.check, monitor, session, now=checked_at if tries == 1 else clock.now(), pushes=pushes, loop=loop
            )
            status, error = judge(attempt, latency, monitor)
            if tries > monitor.retries or not _worth_retrying(attempt, status):
                break
            log.info(
                "%s: try %d/%d failed (%s); retrying in %.1f s", monitor.name, tries, monitor.max_attempts, error, delay
            )
            await clock.sleep(delay)
            if monitor.retry_backoff == "exponential":
                delay *= 2
        if monitor.maintenance:
            status = MAINTENANCE
        return new_result(
            monitor=monitor.name,
            slug=monitor.slug,
            status=status,
            checked_at=checked_at,
            latency=latency,
            status_code=attempt.status_code,
            error=error,
            attempts=tries,
            max_attempts=monitor.max_attempts,
            values=attempt.values,
        )


def _worth_retrying(attempt: Attempt, status: Status) -> bool:
    return status is DOWN and not attempt.ok and attempt.retryable


async def run_attempt(
    check: CheckType[Any],
    monitor: Monitor,
    session: aiohttp.ClientSession,
    *,
    now: datetime | None = None,
    pushes: PushLedger | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> tuple[Attempt, float]:
    """Run `check` once under the monitor's timeout: (attempt, seconds it took; or the
    latency the check measured itself, `values["latency_ms"]`, e.g. a push's ping).
    Never raises (but for cancellation)."""
    loop = loop or asyncio.get_running_loop()
    start = loop.time()
    ctx = CheckContext(
        session=session, monitor=monitor, deadline=start + monitor.timeout, log=log, now=now or utcnow(), pushes=pushes
    )
    try:
        with Deadline(ctx.deadline, loop):
            attempt = await check.run(ctx)
        if not isinstance(attempt, Attempt):
            attempt = Attempt(
                ok=False, error=f"plugin error: {monitor.type}: run() returned {type(attempt).__name__}, not an Attempt"
            )
    except Exception as exc:  # every failure of a target or a plugin becomes a reason
        reason, retryable = describe_exception(
            exc, phase=phase_when_raised(exc, ctx.phase), timeout=monitor.timeout, check_type=monitor.type
        )
        if reason.startswith("plugin error"):
            log.warning("%s: %s", monitor.name, reason, exc_info=exc)
        attempt = Attempt(ok=False, error=reason, retryable=retryable)
    reported = attempt.values.get("latency_ms")
    if isinstance(reported, int) and not isinstance(reported, bool) and reported >= 0:
        return attempt, reported / 1000
    return attempt, loop.time() - start


def judge(attempt: Attempt, latency: float, monitor: Monitor) -> tuple[Status, str | None]:
    """The status an attempt earns: the check's verdict, then conditions, then speed."""
    if attempt.pending:
        return UNKNOWN, attempt.pending
    if not attempt.ok:
        return DOWN, attempt.error or "check failed"
    if monitor.conditions:
        observed = Observation(attempt, latency)
        for condition in monitor.conditions:
            if not condition.evaluate(observed):
                return DOWN, condition.describe_failure(observed)
    if attempt.warning:
        return DEGRADED, attempt.warning
    if monitor.degraded_over is not None and latency > monitor.degraded_over:
        return DEGRADED, (
            f"slow: answered in {format_duration(latency)} (degraded over {format_duration(monitor.degraded_over)})"
        )
    return UP, None
