"""One try of one check: the part every check type shares.

The runner owns the deadline, turning exceptions into reasons, the duration and the
conditions, so a check type (built-in or a plugin) only probes.
"""

from __future__ import annotations

import asyncio
import logging
import aiohttp

from .checks.base import CheckContext, CheckType
from .conditions import Observation
from .durations import format_duration
from .model import Attempt, Monitor, Status
from .reasons import describe_exception

log = logging.getLogger("statuscore.check")


async def run_attempt(check: CheckType, monitor: Monitor,
                      session: aiohttp.ClientSession) -> tuple[Attempt, float]:
    """Run `check` once under the monitor's timeout: (attempt, seconds it took). Never
    raises (but for cancellation)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    ctx = CheckContext(session=session, monitor=monitor, deadline=start + monitor.timeout, log=log)
    try:
        async with asyncio.timeout(monitor.timeout):
            attempt = await check.run(ctx)
        if not isinstance(attempt, Attempt):
            attempt = Attempt(ok=False, error=f"plugin error: {monitor.type}: run() returned "
                                               f"{type(attempt).__name__}, not an Attempt")
    except Exception as exc:  # every failure of a target or a plugin becomes a reason
        reason, retryable = describe_exception(exc, phase=ctx.phase, timeout=monitor.timeout,
                                               check_type=monitor.type)
        if reason.startswith("plugin error"):
            log.warning("%s: %s", monitor.name, reason, exc_info=exc)
        attempt = Attempt(ok=False, error=reason, retryable=retryable)
    return attempt, loop.time() - start


def judge(attempt: Attempt, latency: float, monitor: Monitor) -> tuple[Status, str | None]:
    """The status an attempt earns: the check's verdict, then conditions, then speed."""
    if not attempt.ok:
        return Status.DOWN, attempt.error or "check failed"
    if monitor.conditions:
        observed = Observation(attempt, latency)
        for condition in monitor.conditions:
            if not condition.evaluate(observed):
                return Status.DOWN, condition.describe_failure(observed)
    if attempt.warning:
        return Status.DEGRADED, attempt.warning
    if monitor.degraded_over is not None and latency > monitor.degraded_over:
        return Status.DEGRADED, (f"slow: answered in {format_duration(latency)} "
                                 f"(degraded over {format_duration(monitor.degraded_over)})")
    return Status.UP, None
