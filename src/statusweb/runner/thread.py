"""The runner inside the web server's process, in a daemon thread with its own event
loop, when `statusweb.runner = true`. The database lock still allows only one runner per
database, so starting several web processes is safe: the others stand by.

Its checks start once the server listens (statusweb.server says when), so a monitor of
the app's own /healthz never meets a refused connection at start. With demo targets,
they listen on 127.0.0.1:8099, or on a free port when that one is taken; either way
DEMO_PORT names it, for the demo monitors' `${DEMO_PORT:-8099}`."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import socket
import threading
from typing import Any

from pyramid.config import Configurator

from statusweb.runner.runner import Runner
from statusweb.server import wait_until_listening
from statusweb.settings import RunnerSettings

log = logging.getLogger("statusweb.runner")


class RunnerThread(threading.Thread):
    def __init__(self, settings: RunnerSettings, engine: Any, *, demo_targets: bool = False) -> None:
        super().__init__(name="statusweb-runner", daemon=True)
        # bound before the monitors load: their ${DEMO_PORT:-8099} must name the port it got
        self.demo_socket = _demo_socket() if demo_targets else None
        self.runner = Runner(settings, engine=engine)

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        demo = await _start_demo_targets(self.demo_socket) if self.demo_socket is not None else None
        try:
            await asyncio.to_thread(wait_until_listening)
            await self.runner.run()
        except Exception:
            log.exception("the runner stopped unexpectedly")
        finally:
            if demo is not None:
                await demo.cleanup()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the checks to stop and wait for them (called at process exit)."""
        self.runner.stop()
        self.join(timeout)


def _demo_socket() -> socket.socket:
    """127.0.0.1:DEMO_PORT (8099), or a free port when it is taken; DEMO_PORT then says which."""
    from statuscore.demo import DEMO_PORT

    raw = os.environ.get("DEMO_PORT", "")
    wanted = int(raw) if raw.isdigit() and 0 < int(raw) < 65536 else DEMO_PORT
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", wanted))
    except OSError:
        sock.bind(("127.0.0.1", 0))
        log.warning("port %d is taken: the demo targets listen on %d instead", wanted, sock.getsockname()[1])
    sock.listen(128)
    sock.setblocking(False)
    os.environ["DEMO_PORT"] = str(sock.getsockname()[1])
    return sock


async def _start_demo_targets(sock: socket.socket) -> Any:
    """The Sefaria-like demo services of `statuscore.demo`, so the development page has
    live checks with no internet."""
    from aiohttp import web

    from statuscore.demo import make_demo_app

    runner = web.AppRunner(make_demo_app(), shutdown_timeout=0.5)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    log.info("demo targets (not real services) on http://127.0.0.1:%d", sock.getsockname()[1])
    return runner


def includeme(config: Configurator) -> None:
    settings = config.registry["statusweb.settings"]
    if not settings.runner:
        return
    runner_settings = RunnerSettings.from_settings(config.get_settings(), settings.here)
    thread = RunnerThread(runner_settings, config.registry["statusweb.engine"], demo_targets=settings.demo_targets)
    config.registry["statusweb.runner_thread"] = thread
    thread.start()
    # Stop (and write the last batch) before the interpreter shuts thread pools down:
    # a plain atexit handler runs after that, and the final flush would be refused.
    register = getattr(threading, "_register_atexit", atexit.register)
    register(thread.stop)
