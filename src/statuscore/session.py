"""The one aiohttp session every check shares, with phase tracing for timeout reasons."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp

USER_AGENT = "statuscore/0.1 (uptime check)"


async def _connected(session: Any, trace: SimpleNamespace, params: Any) -> None:
    ctx = trace.trace_request_ctx
    if ctx is not None and ctx.phase.startswith("connecting"):
        ctx.phase = "waiting for headers"


def _phase_tracing() -> aiohttp.TraceConfig:
    """Moves a check from "connecting to host:443" to "waiting for headers" once the
    connection is made, so a timeout says which; a phase the check set itself
    ("polling task 7 (2/10)") is left alone."""
    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(_connected)
    trace.on_connection_reuseconn.append(_connected)
    return trace


def new_session(*, limit: int = 100, keepalive: bool = True) -> aiohttp.ClientSession:
    """A session for checks: no cookies carried between monitors, no session-wide
    timeout (each check has its own deadline), `limit` connections at once."""
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0, force_close=not keepalive,
                                     ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
        headers={"User-Agent": USER_AGENT},
        trace_configs=[_phase_tracing()],
        auto_decompress=True,
    )
