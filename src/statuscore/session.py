"""The one aiohttp session every check shares. A timeout's phase (connecting or waiting
for headers) needs nothing from it: `reasons.phase_when_raised` reads it off the failure."""

from __future__ import annotations

import aiohttp

USER_AGENT = "statuscore/0.1 (uptime check)"


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
        auto_decompress=True,
    )
