"""The runner: statuscore's scheduler with a SqlStore, a heartbeat and daily retention.

`statusweb-admin run-checks` runs it as its own process (the separate scheduler the
original plan recommends); the web app can run the same thing in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
import os
import socket

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from statuscore import (Alert, CheckResult, MaintenanceCalendar, Scheduler, Status, Transition, TransitionKind,
                        load_config)
from statusweb.pages.sla import SlaFigure

from statuscore import Clock, SystemClock
from statusweb.maintenance import advance_windows, calendar_windows
from statusweb.models import HEARTBEAT_NAME, RunnerHeartbeat, get_engine, get_session_factory
from statusweb.runner import requests, sla_alerts
from statusweb.runner.pushes import SqlPushLedger
from statusweb.subscriptions import Delivery, Mail, deliver_due, deliver_outgoing, fan_out
from statusweb.runner.retention import cleanup, next_cleanup_time
from statusweb.runner.lock import lock_for
from statusweb.settings import DEFAULT_PAGE_URL, RunnerSettings
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
        self.calendar = MaintenanceCalendar()
        self.pushes = SqlPushLedger(self.engine, self.clock.monotonic)
        self._requests: set[asyncio.Task[None]] = set()
        mail = Mail(settings.smtp_url, settings.mail_from) if settings.smtp_url and settings.mail_from else None
        self.delivery = Delivery(mail=mail, page_url=settings.page_url, page_name=settings.page_name,
                                 allow_private_webhooks=settings.private_webhooks)
        if mail is not None and settings.page_url == DEFAULT_PAGE_URL:
            log.warning("STATUS_PAGE_URL is not set: links in subscribers' mail say %s", DEFAULT_PAGE_URL)
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
                                   clock=self.clock, maintenance=self.calendar, pushes=self.pushes)
        background = [asyncio.ensure_future(self._beat_forever()),
                      asyncio.ensure_future(self._duties_forever())]
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
            await asyncio.gather(*self._requests, return_exceptions=True)
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
                await asyncio.to_thread(self.store.sync_services, self.config.monitors, self.config.pages)
                await asyncio.to_thread(self._plan_maintenance)
                return True
            except SQLAlchemyError as exc:
                log.error("database unreachable at start (%s); retrying in %.0f s",
                          str(exc).splitlines()[0][:200], delay)
                await self._sleep_unless_stopped(delay)
                delay = min(delay * 2, 30.0)
        return False

    async def _duties_forever(self) -> None:
        """Every `duty_interval`: maintenance windows moved along (and the calendar the
        scheduler reads refreshed), and "check now" requests taken; every
        `sla_interval`: SLA figures compared with their targets."""
        sla_due = self.clock.monotonic()
        while True:
            try:
                await asyncio.to_thread(self._plan_maintenance)
                for request_id, slug in await asyncio.to_thread(requests.open_requests, self.engine,
                                                                self.clock.now()):
                    self._take(request_id, slug)
                await asyncio.to_thread(self._send_to_subscribers)
                if self.clock.monotonic() >= sla_due:
                    sla_due = self.clock.monotonic() + self.settings.sla_interval
                    self.store.adopt(await asyncio.to_thread(sla_alerts.evaluate, self.engine, self.clock.now(),
                                                             self._render_sla_alert))
            except SQLAlchemyError as exc:
                log.warning("maintenance, check-now and SLA duties skipped: %s", str(exc).splitlines()[0][:200])
            await self.clock.sleep(self.settings.duty_interval)

    def _render_sla_alert(self, slug: str, kind: str, figure: SlaFigure) -> list[Alert]:
        """An SLA alert as a transition of the monitor's current state, for its sinks."""
        assert self.scheduler is not None
        check = next((c for c in self.scheduler.checks if c.monitor.slug == slug), None)
        if check is None:
            return []
        now = self.clock.now()
        state = self.scheduler.states.get(slug)
        status = state.status if state else Status.UNKNOWN
        result = CheckResult(monitor=check.monitor.name, slug=slug, status=status, checked_at=now, latency=0.0,
                             error=sla_alerts.describe(kind, figure))
        transition = Transition(monitor=check.monitor.name, slug=slug,
                                kind=TransitionKind.SLA_BREACH if kind == "breach" else TransitionKind.SLA_BUDGET,
                                previous=status, current=status, at=now, since=now, duration=None, result=result)
        return [replace(alert, id=f"{slug}:{kind}:{figure.window}:{now.isoformat()}:{alert.sink}")
                for alert in self.scheduler.alerts_for(transition, check.monitor)]

    def _send_to_subscribers(self) -> None:
        """New incident and maintenance updates into the subscribers' outbox, then what is due."""
        now = self.clock.now()
        with get_session_factory(self.engine).begin() as session:
            fan_out(session, now, self.delivery)
        sent, failed = deliver_due(self.engine, self.delivery, now)
        if sent or failed:
            log.info("subscribers: %d messages sent, %d failed (retried later)", sent, failed)
        sent, failed = deliver_outgoing(self.engine, self.delivery, now)
        if sent or failed:
            log.info("invitations: %d sent, %d failed (retried later)", sent, failed)

    def _plan_maintenance(self) -> None:
        now = self.clock.now()
        with get_session_factory(self.engine).begin() as session:
            for window in advance_windows(session, now):
                log.info("maintenance %d (%s): %s", window.id, window.title, window.status)
            self.calendar.replace(calendar_windows(session, now))

    def _take(self, request_id: int, slug: str) -> None:
        """Start one check-now request unless it is already under way."""
        if any(task.get_name() == f"check-now-{request_id}" for task in self._requests):
            return
        assert self.scheduler is not None
        task = asyncio.ensure_future(requests.carry_out(self.engine, self.scheduler, request_id, slug,
                                                        self.clock.now))
        task.set_name(f"check-now-{request_id}")
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

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
