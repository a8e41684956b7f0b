"""The retry policy: only what may pass on a second try is tried again.

Connection errors, timeouts and 5xx are retried `retries` times `retry_delay` apart
(fixed, or doubling with `retry_backoff = "exponential"`); a 4xx or a failed condition is
final at once, since asking again would only delay the alert.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Callable

import aiohttp
import backoff

from .attempt import judge, run_attempt
from .checks.base import CheckType
from .model import Attempt, CheckResult, Monitor, Status

log = logging.getLogger("statuscore.retry")


class CheckRunner:
    """Runs one monitor's check with its retry policy; built once per monitor."""

    def __init__(self, monitor: Monitor, check: CheckType) -> None:
        self.monitor = monitor
        self.check = check
        # The first try runs on its own (most checks pass, and need no retry machinery);
        # `backoff` then spaces the retries: it waits before each of them, so it is
        # handed the schedule from the first retry's wait on.
        if monitor.retry_backoff == "exponential":
            wait_gen: Any = backoff.expo
            wait_kwargs: dict[str, Any] = {"base": 2, "factor": monitor.retry_delay}
        else:
            wait_gen, wait_kwargs = backoff.constant, {"interval": monitor.retry_delay}
        self._retries = backoff.on_predicate(
            _after_first_wait(wait_gen),
            predicate=_worth_retrying,
            max_tries=max(1, monitor.retries),
            jitter=None,
            logger=None,
            on_backoff=self._log_retry,
            **wait_kwargs,
        )(self._once)

    async def run(self, session: aiohttp.ClientSession,
                  now: Callable[[], datetime]) -> CheckResult:
        checked_at = now()
        tries = [0]
        outcome = await self._once(session, tries)
        if self.monitor.retries and _worth_retrying(outcome):
            self._log_retry({"value": outcome, "tries": 1, "wait": self.monitor.retry_delay})
            await asyncio.sleep(self.monitor.retry_delay)
            outcome = await self._retries(session, tries)
        attempt, latency, status, error = outcome
        monitor = self.monitor
        if monitor.maintenance:
            status = Status.MAINTENANCE
        return CheckResult(
            monitor=monitor.name, slug=monitor.slug, status=status, checked_at=checked_at,
            latency=latency, status_code=attempt.status_code, error=error,
            attempts=tries[0], max_attempts=monitor.max_attempts, values=attempt.values,
        )

    async def _once(self, session: aiohttp.ClientSession,
                    tries: list[int]) -> tuple[Attempt, float, Status, str | None]:
        tries[0] += 1
        attempt, latency = await run_attempt(self.check, self.monitor, session)
        status, error = judge(attempt, latency, self.monitor)
        return attempt, latency, status, error

    def _log_retry(self, details: dict[str, Any]) -> None:
        _, _, _, error = details["value"]
        log.info("%s: try %d/%d failed (%s); retrying in %.1f s", self.monitor.name,
                 details["tries"], self.monitor.max_attempts, error, details["wait"])


def _worth_retrying(outcome: tuple[Attempt, float, Status, str | None]) -> bool:
    attempt, _, status, _ = outcome
    return status is Status.DOWN and not attempt.ok and attempt.retryable


def _after_first_wait(wait_gen: Any) -> Any:
    """`wait_gen` without its first value (that wait happened before backoff took over)."""
    def shifted(**kwargs: Any) -> Any:
        waits = wait_gen(**kwargs)
        next(waits)  # backoff's generators yield None first, for their priming send()
        next(waits)
        yield None
        yield from waits
    return shifted
