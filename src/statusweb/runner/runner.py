"""The runner: statuscore's scheduler with a SqlStore, a heartbeat and daily retention.

`statusweb-admin run-checks` runs it as its own process (the separate scheduler the
original plan recommends); the web app can run the same thing in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from statuscore import CheckResult, Scheduler, load_config

from statuscore import Clock, SystemClock
from statusweb.models import HEARTBEAT_NAME, RunnerHeartbeat, get_engine, get_session_factory
from statusweb.runner.retention import cleanup, next_cleanup_time
from statusweb.runner.lock import lock_for
from statusweb.settings import RunnerSettings
from statusweb.runner.sql import upsert
from statusweb.runner.sql_store import SqlStore

log = logging.getLogger("statusweb.runner")

class Runner:
    """Checks every monitor of `settings.monitors_path`, recording into the database."""

    def __init__(self, settings: RunnerSettings, engine: Engine | None = None, *,
                 clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()  # tests pass a FakeClock: no real waits
        self.settings = settings
        self.engine = engine or get_engine(settings.database_url)
        self.config = load_config(settings.monitors_path)
        self.store = SqlStore(self.engine, now=self.clock.now)
        self.scheduler: Scheduler | None = None
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.started_at = self.clock.now()
        self.lock = lock_for(self.engine)
        shortest = min((m.interval for m in self.config.monitors), default=60.0)
        self.standby_poll = max(0.2, min(5.0, shortest / 2))  # takes over within an interval
        self._stop_requested = False

    async def run(self, *, once: bool = False) -> list[CheckResult]:
        if not await self._hold_lock():
            return []
        try:
            return await self._run_holding_lock(once)
        finally:
            self.lock.release()

    async def _hold_lock(self) -> bool:
        """Become the one runner for this database, standing by while another is."""
        said = False
        while not self._stop_requested:
            try:
                if await asyncio.to_thread(self.lock.try_acquire):
                    if said:
                        log.warning("the other runner is gone: taking over")
                    return True
            except SQLAlchemyError as exc:
                log.error("cannot reach the database for the runner lock: %s", str(exc).splitlines()[0])
            if not said:
                log.warning("another runner holds the lock for this database: standing by")
                said = True
            await self._sleep_unless_stopped(self.standby_poll)
        return False

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        """Wait, but wake within a tenth of a second for a stop request."""
        for _ in range(max(1, int(seconds * 10))):
            if self._stop_requested:
                return
            await self.clock.sleep(0.1)

    async def _run_holding_lock(self, once: bool) -> list[CheckResult]:
        if not await self._sync_services():
            return []
        self.scheduler = Scheduler(self.config.monitors, sinks=self.config.sinks, store=self.store,
                                   clock=self.clock)
        background = [asyncio.ensure_future(self._beat_forever())]
        try:
            if once:
                return await self.scheduler.check_once()
            background.append(asyncio.ensure_future(self._cleanup_daily()))
            await self.scheduler.run()
            return []
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self.scheduler.close()
            await self.store.close()
            await self._last_beat()

    async def _last_beat(self) -> None:
        try:
            await asyncio.to_thread(self._beat)
        except RuntimeError:  # at interpreter exit the thread pools take no more work
            self._beat()
        except SQLAlchemyError as exc:
            log.warning("last heartbeat not written: %s", str(exc).splitlines()[0][:200])

    def stop(self) -> None:
        """Thread-safe: ask the scheduler to stop; `run` returns once in-flight checks end."""
        self._stop_requested = True
        if self.scheduler is not None:
            self.scheduler.request_stop()

    async def _sync_services(self) -> bool:
        """Sync monitors into `service`, waiting for the database if it is not up yet;
        False when asked to stop while waiting."""
        delay = 1.0
        while not self._stop_requested:
            try:
                await asyncio.to_thread(self.store.sync_services, self.config.monitors)
                return True
            except SQLAlchemyError as exc:
                log.error("database unreachable at start (%s); retrying in %.0f s",
                          str(exc).splitlines()[0][:200], delay)
                await self._sleep_unless_stopped(delay)
                delay = min(delay * 2, 30.0)
        return False

    async def _beat_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self._beat)
            except SQLAlchemyError as exc:
                log.warning("heartbeat not written: %s", str(exc).splitlines()[0][:200])
            await self.clock.sleep(self.settings.heartbeat_interval)

    def _beat(self) -> None:
        now = self.clock.now()
        values = {"holder": self.holder, "started_at": self.started_at, "beat_at": now,
                  "interval_s": int(self.settings.heartbeat_interval),
                  "monitors": len(self.config.monitors),
                  "sinks": ",".join(sink.instance_name for sink in self.config.sinks)[:1000]}
        with get_session_factory(self.engine).begin() as session:
            upsert(session, RunnerHeartbeat, [{"name": HEARTBEAT_NAME, **values}], ("name",),
                   lambda table, excluded: {key: excluded[key] for key in values})

    async def _cleanup_daily(self) -> None:
        while True:
            now = self.clock.now()
            wait = (next_cleanup_time(now, self.settings.cleanup_hour_utc) - now).total_seconds()
            await self.clock.sleep(wait)
            try:
                deleted = await asyncio.to_thread(cleanup, self.engine, days=self.settings.retention_days,
                                                  now=self.clock.now())
                log.info("daily cleanup deleted %d check results older than %d days", deleted,
                         self.settings.retention_days)
            except SQLAlchemyError as exc:
                log.error("daily cleanup failed: %s", exc)
