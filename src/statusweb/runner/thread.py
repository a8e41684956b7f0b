"""The runner inside the web server's process, in a daemon thread with its own event
loop, when `statusweb.runner = true`. The database lock still allows only one runner per
database, so starting several web processes is safe: the others stand by."""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from typing import Any

from pyramid.config import Configurator

from statusweb.runner.runner import Runner
from statusweb.settings import RunnerSettings

log = logging.getLogger("statusweb.runner")


class RunnerThread(threading.Thread):
    def __init__(self, settings: RunnerSettings, engine: Any, *, demo_targets: bool = False) -> None:
        super().__init__(name="statusweb-runner", daemon=True)
        self.runner = Runner(settings, engine=engine)
        self.demo_targets = demo_targets

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        demo = await _start_demo_targets() if self.demo_targets else None
        try:
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


async def _start_demo_targets() -> Any:
    """The Sefaria-like demo services of `statuscore.demo` on 127.0.0.1:8099, so the
    development page has live checks with no internet."""
    from aiohttp import web

    from statuscore.demo import DEMO_PORT, make_demo_app

    runner = web.AppRunner(make_demo_app(), shutdown_timeout=0.5)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", DEMO_PORT).start()
    except OSError as exc:
        log.warning("demo targets not started on port %d (%s); is another copy running?", DEMO_PORT, exc)
        await runner.cleanup()
        return None
    log.info("demo targets (not real services) on http://127.0.0.1:%d", DEMO_PORT)
    return runner


def includeme(config: Configurator) -> None:
    settings = config.registry["statusweb.settings"]
    if not settings.runner:
        return
    runner_settings = RunnerSettings.from_settings(config.get_settings(), settings.here)
    thread = RunnerThread(runner_settings, config.registry["statusweb.engine"],
                          demo_targets=settings.demo_targets)
    config.registry["statusweb.runner_thread"] = thread
    thread.start()
    # Stop (and write the last batch) before the interpreter shuts thread pools down:
    # a plain atexit handler runs after that, and the final flush would be refused.
    register = getattr(threading, "_register_atexit", atexit.register)
    register(thread.stop)
