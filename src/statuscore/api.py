"""Checking from another program: `await check(url)`, `check_sync(url)`, `check_many(...)`.

These run the check with its conditions and return the verdict; they keep no state and
send no alerts (use `Scheduler` for that). A bare URL is tried once: one call, one
answer, as fast as the target gives it. Retries only when the caller asks
(`retries=2`), or with a `Monitor` whose policy has them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import aiohttp

from .checking import MonitorCheck, build_check
from .clock import Clock, SystemClock
from .config import monitor_for_url
from .model import CheckResult, Monitor
from .plugins import PluginRegistry, default_registry
from .pool import map_limited
from .session import new_session


async def check(
    monitor_or_url: Monitor | str,
    *,
    session: aiohttp.ClientSession | None = None,
    registry: PluginRegistry | None = None,
    clock: Clock | None = None,
    retries: int = 0,
    retry_delay: float = 1.0,
) -> CheckResult:
    """Check one monitor (or a bare URL, as an http check) once."""
    results = await check_many(
        [monitor_or_url], session=session, registry=registry, clock=clock, retries=retries, retry_delay=retry_delay
    )
    return results[0]


async def check_many(
    monitors: Iterable[Monitor | str],
    *,
    concurrency: int = 50,
    session: aiohttp.ClientSession | None = None,
    registry: PluginRegistry | None = None,
    clock: Clock | None = None,
    retries: int = 0,
    retry_delay: float = 1.0,
) -> list[CheckResult]:
    """Check several at once (at most `concurrency` in flight); results in input order.
    Bare URLs get `retries` (none unless asked) `retry_delay` seconds apart; a Monitor
    keeps its own policy. Retries wait on `clock` (the real one unless a test passes its own)."""
    registry = registry or default_registry()
    resolved = [
        m if isinstance(m, Monitor) else monitor_for_url(m, registry=registry, retries=retries, retry_delay=retry_delay)
        for m in monitors
    ]
    checks = [build_check(m, registry) for m in resolved]
    own = session is None
    active = session or new_session(limit=concurrency)
    time = clock or SystemClock()
    loop = asyncio.get_running_loop()

    async def one(check: MonitorCheck) -> CheckResult:
        return await check.run(active, time, loop=loop)

    try:
        return await map_limited(one, checks, concurrency)
    finally:
        if own:
            await active.close()


def check_sync(monitor_or_url: Monitor | str, **kwargs) -> CheckResult:  # type: ignore[no-untyped-def]
    """`check` for code without an event loop (scripts, notebooks without await)."""
    return asyncio.run(check(monitor_or_url, **kwargs))
