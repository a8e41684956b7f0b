"""The shared check session, as a process doing many checks meets it: counted in the
system calls its reads make (strace), since the cost is the kernel's, not Python's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHECKS = 300

# A child process: a local aiohttp server and CHECKS keep-alive checks of it through the
# public API. The server is set up here, not with statuscore.testing.serve_app: with that
# module (and the pytest it imports) loaded, this test passed even without the fix.
CHILD = textwrap.dedent(f"""
    import asyncio, sys
    from aiohttp import web
    import statuscore

    async def main():
        app = web.Application()
        app.router.add_get("/ok", lambda request: web.Response(text="ok"))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        monitors = [statuscore.make_monitor(name=f"m{{i}}", url=f"http://127.0.0.1:{{port}}/ok")
                    for i in range({CHECKS})]
        results = await statuscore.check_many(monitors, concurrency=10)
        assert all(r.status.value == "up" for r in results), {{r.error for r in results}}
        await runner.cleanup()

    asyncio.run(main())
""")


def mremaps(tmp_path: Path, seed: str) -> int:
    """How many times the child's allocator moved a block with mremap: what a
    256 KiB read buffer served by mmap, then shrunk to the bytes read, costs."""
    counts = tmp_path / f"strace-{seed}.txt"
    subprocess.run(
        ["strace", "-f", "-c", "-e", "trace=mmap,mremap,munmap", "-o", str(counts), sys.executable, "-c", CHILD],
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONHASHSEED": seed},
    )
    summary = counts.read_text()
    assert re.search(r"^100\.00\s.*\stotal$", summary, re.M), f"strace counted nothing:\n{summary}"
    found = re.search(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?mremap$", summary, re.M)
    return int(found.group(1)) if found else 0  # no line: not one mremap call


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (.ci/run installs it)")
def test_reads_never_cost_mmap_once_a_session_is_made(tmp_path: Path) -> None:
    """Without the session's threshold raise, whether reads go through mmap depends on
    what the process happened to free before (its hash seed, its imports): 600 mremap
    calls for these 300 checks in one run, none in another, 19,300 for 20,000 in
    bench/engine.py. With it, never: asserted under several hash seeds."""
    for seed in ("0", "1", "2"):
        calls = mremaps(tmp_path, seed)
        assert calls < CHECKS / 10, f"hash seed {seed}: {calls} mremap calls for {CHECKS} checks"
