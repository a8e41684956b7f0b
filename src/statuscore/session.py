"""The one aiohttp session every check shares. A timeout's phase (connecting or waiting
for headers) needs nothing from it: `reasons.phase_when_raised` reads it off the failure.
Making one also keeps socket reads off mmap (`raise_mmap_threshold`)."""

from __future__ import annotations

import aiohttp

USER_AGENT = "statuscore/0.1 (uptime check)"


# asyncio reads a socket into a fresh buffer of its transport's `max_size` (256 KiB)
# for every read. glibc serves a block that big with mmap, then shrinks it with mremap and
# frees it with munmap: three system calls on every check. glibc raises its mmap
# threshold to the size of the largest mmapped block a process frees (mallopt(3),
# "dynamic mmap threshold"), after which such reads come from the heap; a process that
# has freed one big block (a large gather, a parsed file) never pays it again.
_LARGER_THAN_A_READ = 512 * 1024
_threshold_raised = False


def raise_mmap_threshold() -> None:
    """Free one block larger than asyncio's read buffer, once per process, so reads stop
    costing mmap, mremap and munmap (bench/engine.py: about 5% of a keep-alive check).
    Harmless where the allocator is not glibc's or its threshold is set by hand
    (MALLOC_MMAP_THRESHOLD_): the block is then only allocated and freed."""
    global _threshold_raised
    if not _threshold_raised:
        bytearray(_LARGER_THAN_A_READ)  # allocated and freed at once
        _threshold_raised = True


def new_session(*, limit: int = 100, keepalive: bool = True) -> aiohttp.ClientSession:
    """A session for checks: no cookies carried between monitors, no session-wide
    timeout (each check has its own deadline), `limit` connections at once."""
    raise_mmap_threshold()
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0, force_close=not keepalive, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
    )
