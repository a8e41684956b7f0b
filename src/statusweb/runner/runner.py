"""The runner: statuscore's scheduler with a SqlStore, a heartbeat and daily retention.

`statusweb-admin run-checks` runs it as its own process (the separate scheduler the
original plan recommends); the web app can run the same thing in a thread.

On SQLite one runner checks everything and others stand by (a file lock). On PostgreSQL
every runner checks a share of the monitors, held through leases (`sharing.py`,
`leases.py`) renewed on each heartbeat; one of them (the holder of an advisory lock,
taken over at once when it dies) also does the duties that must happen once
(`duties.py`): maintenance windows, SLA alerts, subscribers' mail, the daily cleanup and
the heartbeat row /healthz reads. A monitor that lists `regions` is checked from each by
a runner there and decided by one of them, which counts the regions' votes against its
quorum (`regions.py`). This module keeps the run itself: the lock, the check loop, the
heartbeat's rhythm and stopping.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from statuscore import (
    CheckResult,
    Clock,
    MaintenanceCalendar,
    Scheduler,
    SystemClock,
    backoff_delay,
    load_config,
)
from statusweb.models import get_engine, lease_seconds
from statusweb.runner.duties import Duties
from statusweb.runner.leases import LeaseBook
from statusweb.runner.lock import lock_for
from statusweb.runner.pages import check_page_looks
from statusweb.runner.pushes import SqlPushLedger
from statusweb.runner.sharing import Sharing
from statusweb.runner.spool import Spool
from statusweb.runner.sql_store import SqlStore
from statusweb.runner.subscribers import Delivery, Mail
from statusweb.settings import DEFAULT_PAGE_URL, RunnerSettings

log = logging.getLogger("statusweb.runner")


class Runner:
    """Checks every monitor of `settings.monitors_path`, recording into the database."""

    def __init__(self, settings: RunnerSettings, engine: Engine | None = None, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()  # tests pass a FakeClock: no real waits
        self.settings = settings
        self.engine = engine or get_engine(settings.database_url)
        self.config = load_config(settings.monitors_path)
        check_page_looks(self.config)
        self.leases = (
            LeaseBook(self.engine, ttl=lease_seconds(settings.heartbeat_interval), region=settings.region)
            if self.engine.dialect.name == "postgresql"
            else None
        )
        self.spool = Spool(settings.spool_dir, settings.database_url)
        self.store = SqlStore(self.engine, now=self.clock.now, leases=self.leases, spool=self.spool)
        self.calendar = MaintenanceCalendar()
        self.pushes = SqlPushLedger(self.engine, self.clock.monotonic)
        mail = Mail(settings.smtp_url, settings.mail_from) if settings.smtp_url and settings.mail_from else None
        self.delivery = Delivery(
            mail=mail,
            page_url=settings.page_url,
            page_name=settings.page_name,
            allow_private_webhooks=settings.private_webhooks,
        )
        if mail is not None and settings.page_url == DEFAULT_PAGE_URL:
            log.warning("STATUS_PAGE_URL is not set: links in subscribers' mail say %s", DEFAULT_PAGE_URL)
        self.scheduler: Scheduler | None = None
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.leader = False  # holds the runner lock: does the once-only duties
        self.lead_since = 0.0
        self.checked_here = {m.slug for m in self.config.monitors}  # a lease of another file's monitor: not ours
        self.started_at = self.clock.now()
        self.lock = lock_for(self.engine)
        shortest = min((m.interval for m in self.config.monitors), default=60.0)
        self.standby_poll = max(0.2, min(5.0, shortest / 2))  # takes over within an interval
        self.stop_requested = False
        self.sharing = Sharing(self, self.leases) if self.leases is not None else None
        self.duties = Duties(self)

    async def run(self, *, once: bool = False) -> list[CheckResult]:
        """Check until `stop()` (or every monitor once). Sharing (PostgreSQL): at once,
        a share of the monitors; alone (SQLite): once this process holds the lock."""
        if self.leases is not None:
            try:
                return await self._run_checks(once)
            finally:
                self.lock.release()
        if not await self._hold_lock():
            return []
        self.leader = True
        try:
            return await self._run_checks(once)
        finally:
            self.lock.release()

    async def _hold_lock(self) -> bool:
        """Become the one runner for this database, standing by while another is."""
        said = False
        while not self.stop_requested:
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
            await self.sleep_unless_stopped(self.standby_poll)
        return False

    async def sleep_unless_stopped(self, seconds: float) -> None:
        """Wait, but wake within a tenth of a second for a stop request."""
        for _ in range(max(1, int(seconds * 10))):
            if self.stop_requested:
                return
            await self.clock.sleep(0.1)

    async def _run_checks(self, once: bool) -> list[CheckResult]:
        if not await self._sync_services():
            return []
        # before any state is loaded: what a runner killed during a database outage decided
        await self.duties.run("spool", self.duties.replay_spools)
        verdict = self.sharing.verdict if any(m.regions for m in self.config.monitors) and self.sharing else None
        self.scheduler = Scheduler(
            self.config.monitors,
            sinks=self.config.sinks,
            store=self.store,
            clock=self.clock,
            maintenance=self.calendar,
            pushes=self.pushes,
            verdict=verdict,
            states_elsewhere=self.sharing.state_elsewhere if self.sharing is not None else None,
        )
        self.store.on_alerts_ready = self.wake_notifier
        if self.sharing is not None and not await self.sharing.join():
            return []
        background = [asyncio.ensure_future(self._beat_forever()), asyncio.ensure_future(self.duties.forever())]
        if self.sharing is not None:
            background += [
                asyncio.ensure_future(self.sharing.renew_forever()),
                asyncio.ensure_future(self.sharing.watch_members()),
            ]
        try:
            if once:
                return await self.scheduler.check_once()
            background.append(asyncio.ensure_future(self.duties.cleanup_daily()))
            await self.scheduler.run()
            return []
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await asyncio.gather(*self.duties.requests, return_exceptions=True)
            await self.scheduler.close()
            await self.store.close()
            await self.duties.last_beat()
            if self.sharing is not None:
                await self.sharing.leave()

    def wake_notifier(self) -> None:
        """Alerts were stored (or taken over): deliver now, not at the next transition."""
        if self.scheduler is not None and self.scheduler.notifier is not None:
            self.scheduler.notifier.wake()

    def stop(self) -> None:
        """Thread-safe: ask the scheduler to stop; `run` returns once in-flight checks end."""
        self.stop_requested = True
        if self.scheduler is not None:
            self.scheduler.request_stop()

    async def _sync_services(self) -> bool:
        """Sync monitors into `service`, waiting for the database if it is not up yet;
        False when asked to stop while waiting."""
        attempts = 0
        while not self.stop_requested:
            try:
                await asyncio.to_thread(
                    self.store.sync_services, self.config.monitors, self.config.pages, self.config.groups
                )
                await asyncio.to_thread(self.duties.plan_maintenance)
                return True
            except SQLAlchemyError as exc:
                attempts += 1
                delay = backoff_delay(attempts, first=1.0, cap=30.0)  # jittered: runners restarted together spread
                log.error(
                    "monitors not synced into the database at start (%s); retrying in %.1f s",
                    str(exc).splitlines()[0][:200],
                    delay,
                )
                await self.sleep_unless_stopped(delay)
        return False

    async def _beat_forever(self) -> None:
        while True:
            try:
                if self.sharing is not None:
                    await self.sharing.rebalance()
                    await self._lead_if_free()
                if self.leader:
                    await asyncio.to_thread(self.duties.beat)
            except SQLAlchemyError as exc:
                log.warning("heartbeat not written: %s", str(exc).splitlines()[0][:200])
            await self.clock.sleep(self.settings.heartbeat_interval)

    async def _lead_if_free(self) -> None:
        """Sharing: become the one that does the once-only duties when nobody does."""
        if not self.leader and await asyncio.to_thread(self.lock.try_acquire):
            self.leader = True
            self.lead_since = self.clock.monotonic()
            log.info("doing the once-only duties (maintenance, SLA, subscribers, cleanup) from here")
