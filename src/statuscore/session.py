"""The one aiohttp session every check shares, with phase tracing for timeout reasons."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp

USER_AGENT = "statuscore/0.1 (uptime check)"


_GENERIC_PHASES = ("connecting", "waiting for headers")


async def _connecting(session: Any, trace: SimpleNamespace, params: Any) -> None:
    ctx = trace.trace_request_ctx
    if ctx is not None and ctx.phase.startswith(_GENERIC_PHASES):
        ctx.phase = f"connecting to {params.url.host}:{params.url.port}"


async def _connected(session: Any, trace: SimpleNamespace, params: Any) -> None:
    ctx = trace.trace_request_ctx
    if ctx is not None and ctx.phase.startswith("connecting"):
        ctx.phase = "waiting for headers"


def _phase_tracing() -> aiohttp.TraceConfig:
    """Keeps a check's generic phase current, so "timed out ... connecting to host:443"
    and "... waiting for headers" can be told apart; a phase the check set itself
    ("polling task 7 (2/10)") is left alone."""
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_connecting)
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
