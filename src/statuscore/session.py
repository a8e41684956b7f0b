"""The one aiohttp session every check shares, with phase tracking for timeout reasons."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace

USER_AGENT = "statuscore/0.1 (uptime check)"

# The check whose attempt runs in this task (set by `checking.run_attempt`), so the
# connector can tell it when its connection is made without aiohttp's trace signals,
# which cost a tenth of a cheap check's CPU (bench/engine.py).
running_check: ContextVar[Any] = ContextVar("statuscore_running_check", default=None)


class PhaseConnector(aiohttp.TCPConnector):
    """Moves the running check from "connecting to host:443" to "waiting for headers"
    once its connection is made (new or reused), so a timeout says which; a phase the
    check set itself ("polling task 7 (2/10)") is left alone."""

    async def connect(self, req: ClientRequest, traces: list[Trace],
                      timeout: aiohttp.ClientTimeout) -> Connection:
        connection = await super().connect(req, traces, timeout)
        ctx = running_check.get()
        if ctx is not None and ctx.phase.startswith("connecting"):
            ctx.phase = "waiting for headers"
        return connection


def new_session(*, limit: int = 100, keepalive: bool = True) -> aiohttp.ClientSession:
    """A session for checks: no cookies carried between monitors, no session-wide
    timeout (each check has its own deadline), `limit` connections at once."""
    connector = PhaseConnector(limit=limit, limit_per_host=0, force_close=not keepalive,
                               ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
    )
