"""The runner: statuscore's scheduler with a SqlStore, a heartbeat and daily retention.

`statusweb-admin run-checks` runs it as its own process (the separate scheduler the
original plan recommends); the web app can run the same thing in a thread.

On SQLite one runner checks everything and others stand by (a file lock). On PostgreSQL
every runner checks a share of the monitors, held through leases (`leases.py`) renewed on
each heartbeat; one of them (the holder of an advisory lock, taken over at once when it
dies) also does the duties that must happen once: maintenance windows, SLA alerts,
subscribers' mail, the daily cleanup and the heartbeat row /healthz reads. A monitor that
lists `regions` is checked from each by a runner there and decided by one of them, which
counts the regions' votes against its quorum (`regions.py`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from statuscore import (
    Alert,
    CheckResult,
    Clock,
    MaintenanceCalendar,
    Monitor,
    RegionVote,
    Scheduler,
    Status,
    SystemClock,
    Transition,
    TransitionKind,
    backoff_delay,
    count_votes,
    load_config,
)
from statusweb.models import HEARTBEAT_NAME, RunnerHeartbeat, get_engine, get_session_factory, lease_seconds
from statusweb.pages.queries import saved_status
from statusweb.pages.sla import SlaFigure
from statusweb.runner import region_alerts, requests, sla_alerts
from statusweb.runner.duties import DutyLog
from statusweb.runner.leases import LeaseBook, Rebalance
from statusweb.runner.lock import lock_for
from statusweb.runner.pushes import SqlPushLedger
from statusweb.runner.regions import read_votes
from statusweb.runner.retention import cleanup, next_cleanup_time
from statusweb.runner.spool import Spool
from statusweb.runner.sql import upsert
from statusweb.runner.sql_store import SqlStore
from statusweb.runner.subscribers import Delivery, Mail, deliver_due, deliver_outgoing, fan_out
from statusweb.services.maintenance import advance_windows, calendar_windows
from statusweb.settings import DEFAULT_PAGE_URL, RunnerSettings

log = logging.getLogger("statusweb.runner")

WATCH_INTERVAL = 0.5  # seconds between looks for runners whose database session ended


class Runner:
    """Checks every monitor of `settings.monitors_path`, recording into the database."""

    def __init__(self, settings: RunnerSettings, engine: Engine | None = None, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()  # tests pass a FakeClock: no real waits
        self.settings = settings
        self.engine = engine or get_engine(settings.database_url)
        self.config = load_config(settings.monitors_path)
        self.leases = (
            LeaseBook(self.engine, ttl=lease_seconds(settings.heartbeat_interval), region=settings.region)
            if self.engine.dialect.name == "postgresql"
            else None
        )
        self.spool = Spool(settings.spool_dir, settings.database_url)
        self.store = SqlStore(self.engine, now=self.clock.now, leases=self.leases, spool=self.spool)
        self._spool_backlog: list[Path] = []  # adopted spool files not written yet
        self.calendar = MaintenanceCalendar()
        self.pushes = SqlPushLedger(self.engine, self.clock.monotonic)
        self._requests: set[asyncio.Task[None]] = set()
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
        self._lead_since = 0.0
        self.checked_here = {m.slug for m in self.config.monitors}  # a lease of another file's monitor: not ours
        self.votes: dict[int, dict[str, RegionVote]] = {}  # other regions' latest, for monitors decided here
        self._voting: set[int] = set()  # service ids of the monitors checked from several regions
        # Another region's vote arrives with its runner's next batch and our next read of
        # votes; on a busy machine either may come a period late. Without this allowance two
        # runners whose loops fall into step can see every vote just too old, for minutes.
        self.vote_delay = 2 * (self.store.flush_interval + settings.duty_interval)
        self.started_at = self.clock.now()
        self.lock = lock_for(self.engine)
        shortest = min((m.interval for m in self.config.monitors), default=60.0)
        self.standby_poll = max(0.2, min(5.0, shortest / 2))  # takes over within an interval
        self._stop_requested = False
        self.duties = DutyLog(started=self.clock.monotonic())
        self._rebalancing = asyncio.Lock()  # (asyncio.Lock binds no loop until first used)

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

    async def _run_checks(self, once: bool) -> list[CheckResult]:
        if not await self._sync_services():
            return []
        # before any state is loaded: what a runner killed during a database outage decided
        await self._duty("spool", self._replay_spools)
        verdict = self._verdict if any(m.regions for m in self.config.monitors) and self.leases else None
        self.scheduler = Scheduler(
            self.config.monitors,
            sinks=self.config.sinks,
            store=self.store,
            clock=self.clock,
            maintenance=self.calendar,
            pushes=self.pushes,
            verdict=verdict,
        )
        self.store.on_alerts_ready = self._wake_notifier
        if self.leases is not None and not await self._join():
            return []
        background = [asyncio.ensure_future(self._beat_forever()), asyncio.ensure_future(self._duties_forever())]
        if self.leases is not None:
            background += [asyncio.ensure_future(self._renew_forever()), asyncio.ensure_future(self._watch_members())]
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
            await self._leave()

    def _wake_notifier(self) -> None:
        """Alerts were stored (or taken over): deliver now, not at the next transition."""
        if self.scheduler is not None and self.scheduler.notifier is not None:
            self.scheduler.notifier.wake()

    async def _join(self) -> bool:
        """Join the runners sharing this database and take a first share; False when
        asked to stop while the database is unreachable."""
        assert self.leases is not None and self.scheduler is not None
        leases = self.leases
        known = self.store.service_ids
        regions = {known[m.slug]: m.regions for m in self.config.monitors if m.slug in known}
        self._voting = {service_id for service_id, listed in regions.items() if listed}
        while not self._stop_requested:
            try:
                await asyncio.to_thread(leases.join, regions, regions)
                change = await asyncio.to_thread(leases.rebalance)
            except SQLAlchemyError as exc:
                log.error("cannot join the other runners (%s); retrying", str(exc).splitlines()[0][:200])
                await self._sleep_unless_stopped(self.settings.heartbeat_interval)
                continue
            self.scheduler.assign(self._slugs(leases.held))
            log.info(
                "sharing the monitors with %d other runner(s) in region %s: %d of %d here",
                change.live - 1,
                leases.region,
                len(leases.held),
                len(regions),
            )
            return True
        return False

    async def _leave(self) -> None:
        if self.leases is None:
            return
        try:
            await asyncio.to_thread(self.leases.leave)
        except (SQLAlchemyError, RuntimeError) as exc:  # the others take over after the lease time
            log.warning("leases not handed back: %s", str(exc).splitlines()[0][:200])

    def _slugs(self, service_ids: Iterable[int]) -> list[str]:
        wanted = set(service_ids)
        return [slug for slug, service_id in self.store.service_ids.items() if service_id in wanted]

    async def _rebalance(self) -> None:
        """Renew the leases and move the share this heartbeat changed. What the scheduler
        lacks is worked out afresh each time, so a failed take-over is retried next beat.
        One at a time: the heartbeat and the watch for dead members both call it."""
        async with self._rebalancing:
            await self._rebalance_now()

    async def _rebalance_now(self) -> None:
        assert self.leases is not None and self.scheduler is not None
        change: Rebalance = await asyncio.to_thread(self.leases.rebalance)
        if change.lost or change.stopped_deciding:
            self.store.give_up(self._slugs(change.lost | change.stopped_deciding))
        if change.lost:
            log.info(
                "%d monitors moved to other runners (%d live, %d here now)",
                len(change.lost),
                change.live,
                len(self.leases.held),
            )
        held = [slug for slug in self._slugs(self.leases.held) if slug in self.checked_here]
        assigned = set(self.scheduler.assigned)
        new = sorted(set(held) - assigned)
        deciding = self._slugs(change.now_deciding)
        if not (new or deciding or len(held) != len(assigned)):
            return
        states = await asyncio.to_thread(self.store.take_over, new + deciding) if new or deciding else {}
        self.scheduler.assign(held, states)
        self.scheduler.states.update({slug: states[slug] for slug in deciding if slug in states})
        self._wake_notifier()  # their undelivered alerts are ours now
        if new:
            log.info("took over %d monitors (%d live runners, %d here now)", len(new), change.live, len(held))
        if deciding:
            log.info("deciding %d monitors checked from several regions from here now", len(deciding))

    def _verdict(self, monitor: Monitor, result: CheckResult) -> CheckResult | None:
        """A monitor checked from several regions: record what this region saw; if this
        runner decides it, the result judged with the other regions' votes, else None."""
        if not monitor.regions or self.leases is None:
            return result
        service_id = self.store.service_ids.get(monitor.slug)
        if service_id is None:
            return None
        self.store.observe(result, self.leases.region)
        if service_id not in self.leases.deciding:
            return None
        return count_votes(monitor, self.leases.region, result, self.votes.get(service_id, {}), delay=self.vote_delay)

    async def _read_votes(self) -> None:
        """The other regions' latest observations of the monitors decided here."""
        assert self.leases is not None
        self.votes = await asyncio.to_thread(read_votes, self.engine, self._voting & self.leases.deciding)

    async def _last_beat(self) -> None:
        if not self.leader:
            return
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
        attempts = 0
        while not self._stop_requested:
            try:
                await asyncio.to_thread(self.store.sync_services, self.config.monitors, self.config.pages)
                await asyncio.to_thread(self._plan_maintenance)
                return True
            except SQLAlchemyError as exc:
                attempts += 1
                delay = backoff_delay(attempts, first=1.0, cap=30.0)  # jittered: runners restarted together spread
                log.error(
                    "monitors not synced into the database at start (%s); retrying in %.1f s",
                    str(exc).splitlines()[0][:200],
                    delay,
                )
                await self._sleep_unless_stopped(delay)
        return False

    async def _duties_forever(self) -> None:
        """Every `duty_interval`: the calendar the scheduler reads refreshed, and "check
        now" requests for our monitors taken; by the leader, maintenance windows moved
        along, subscribers' mail sent and, every `sla_interval`, SLA figures compared
        with their targets. Each duty on its own: one that fails (a bad row, a bug, the
        database gone) is logged and tried again next round while the others go on; one
        with no completed round for 3 heartbeats is named in the heartbeat (/healthz)."""
        sla_due = self.clock.monotonic()
        while True:
            await self._duty("maintenance", lambda: asyncio.to_thread(self._plan_maintenance))
            await self._duty("spool", self._replay_spools)
            if self.scheduler is not None and self.scheduler.verdict is not None:
                await self._duty("votes", self._read_votes)
            await self._duty("check-now", self._take_requests)
            if self.leader:
                await self._duty("subscribers", lambda: asyncio.to_thread(self._send_to_subscribers))
                if self.leases is not None:
                    await self._duty("regions", self._alert_silent_regions)
                if self.clock.monotonic() < sla_due:  # not due: its last round completed (a failed one stays due)
                    self.duties.completed("sla", self.clock.monotonic())
                elif await self._duty("sla", self._alert_sla):
                    sla_due = self.clock.monotonic() + self.settings.sla_interval
            await self.clock.sleep(self.settings.duty_interval)

    async def _duty(self, name: str, work: Callable[[], Awaitable[None]]) -> bool:
        """Run one duty's round; True when it completed."""
        try:
            await work()
        except SQLAlchemyError as exc:
            if self.duties.failed(name, str(exc).splitlines()[0][:200], self.clock.monotonic()):
                log.warning("duty %s skipped (retried every round): %s", name, str(exc).splitlines()[0][:200])
            return False
        except Exception as exc:  # a bug or a bad row: the other duties go on, this one is retried
            if self.duties.failed(name, f"{type(exc).__name__}: {exc}"[:200], self.clock.monotonic()):
                log.exception("duty %s failed (retried every round); the other duties go on", name)
            return False
        self.duties.completed(name, self.clock.monotonic())
        return True

    async def _replay_spools(self) -> None:
        """Spool files runners of this host left when they died during a database outage:
        written to the database now (a file that fails stays, and the duty says so)."""
        if not self.store.database_ok:
            return
        self._spool_backlog += self.spool.adopt_orphans()
        while self._spool_backlog:
            path = self._spool_backlog[0]
            records = await asyncio.to_thread(self.store.replay_spool, path)
            self._spool_backlog.pop(0)
            log.warning(
                "wrote %d records that a runner killed during a database outage left in its spool (%s)",
                records,
                path.name,
            )

    async def _take_requests(self) -> None:
        """ "Check now" requests for the monitors checked here; the leader also answers
        those for monitors no runner checks (not in the monitors file)."""
        assert self.scheduler is not None
        waiting = await asyncio.to_thread(requests.open_requests, self.engine, self.clock.now())
        if not waiting:
            return
        ours = set(self.scheduler.assigned)
        for request_id, slug in waiting:
            if self.leases is None or slug in ours or (self.leader and slug not in self.checked_here):
                self._take(request_id, slug)

    async def _alert_silent_regions(self) -> None:
        """Regions with no live runner (or one back), told once each."""
        assert self.leases is not None
        if self.clock.monotonic() - self._lead_since >= 2 * self.leases.ttl:
            # (after a grace: runners started together join within a heartbeat or two)
            self.store.adopt(
                await asyncio.to_thread(
                    region_alerts.evaluate, self.engine, self.leases.ttl, self.clock.now(), self._render_region_alert
                )
            )

    async def _alert_sla(self) -> None:
        alerts = await asyncio.to_thread(sla_alerts.evaluate, self.engine, self.clock.now(), self._render_sla_alert)
        self.store.adopt(alerts)

    def _render_sla_alert(self, slug: str, kind: str, figures: list[SlaFigure]) -> list[Alert]:
        """One SLA alert naming every window in `figures`, for the monitor's sinks: the
        figures ride in `result.values["sla"]`, so sinks show target, uptime and budget."""
        assert self.scheduler is not None
        check = next((c for c in self.scheduler.checks if c.monitor.slug == slug), None)
        if check is None or not figures:
            return []
        now = self.clock.now()
        state = self.scheduler.states.get(slug)
        # sharing: another runner may check it, and its state is in the database
        status = state.status if state else Status(saved_status(self.engine, slug) or Status.UNKNOWN.value)
        result = CheckResult(
            monitor=check.monitor.name,
            slug=slug,
            status=status,
            checked_at=now,
            latency=0.0,
            error="; ".join(sla_alerts.describe(kind, figure) for figure in figures),
            values={"sla": [sla_alerts.sla_values(figure) for figure in figures]},
        )
        transition = Transition(
            monitor=check.monitor.name,
            slug=slug,
            kind=TransitionKind.SLA_BREACH if kind == "breach" else TransitionKind.SLA_BUDGET,
            previous=status,
            current=status,
            at=now,
            since=now,
            duration=None,
            result=result,
        )
        windows = "+".join(figure.window for figure in figures)
        return [
            replace(alert, id=f"{slug}:{kind}:{windows}:{now.isoformat()}:{alert.sink}")
            for alert in self.scheduler.alerts_for(transition, check.monitor)
        ]

    def _render_region_alert(self, region: str, kind: str, count: int, since: datetime) -> list[Alert]:
        """No runner in a region (or one back) as a transition of the region, for every sink."""
        assert self.scheduler is not None
        now = self.clock.now()
        lost = kind == "lost"
        name, slug = f"Region {region}", f"region-{region}"
        result = CheckResult(
            monitor=name,
            slug=slug,
            status=Status.UNKNOWN if lost else Status.UP,
            checked_at=now,
            latency=0.0,
            error=region_alerts.describe(region, kind, count),
        )
        transition = Transition(
            monitor=name,
            slug=slug,
            kind=TransitionKind.REGION_LOST if lost else TransitionKind.REGION_BACK,
            previous=Status.UP if lost else Status.UNKNOWN,
            current=result.status,
            at=now,
            since=since,
            duration=None if lost else (now - since).total_seconds(),
            result=result,
        )
        return [
            replace(alert, id=f"{slug}:{kind}:{since.isoformat()}:{alert.sink}")
            for alert in self.scheduler.alerts_for(transition, None)
        ]

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
            if self.leader:
                for window in advance_windows(session, now):
                    log.info("maintenance %d (%s): %s", window.id, window.title, window.status)
            self.calendar.replace(calendar_windows(session, now))

    def _take(self, request_id: int, slug: str) -> None:
        """Start one check-now request unless it is already under way."""
        if any(task.get_name() == f"check-now-{request_id}" for task in self._requests):
            return
        assert self.scheduler is not None
        task = asyncio.ensure_future(requests.carry_out(self.engine, self.scheduler, request_id, slug, self.clock.now))
        task.set_name(f"check-now-{request_id}")
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _beat_forever(self) -> None:
        while True:
            try:
                if self.leases is not None:
                    await self._rebalance()
                    await self._lead_if_free()
                if self.leader:
                    await asyncio.to_thread(self._beat)
            except SQLAlchemyError as exc:
                log.warning("heartbeat not written: %s", str(exc).splitlines()[0][:200])
            await self.clock.sleep(self.settings.heartbeat_interval)

    async def _watch_members(self) -> None:
        """Sharing: every WATCH_INTERVAL, our liveness lock held (again), and members whose
        PostgreSQL session ended (kill -9, a crash, a lost connection) forgotten and their
        monitors taken over at once; lease expiry stays for runners paused or cut off."""
        assert self.leases is not None
        while True:
            await self.clock.sleep(WATCH_INTERVAL)
            try:
                dead = await asyncio.to_thread(self.leases.reap_the_dead)
                if dead:
                    log.warning(
                        "runner(s) %s gone (their database session ended): taking over their monitors", ", ".join(dead)
                    )
                    await self._rebalance()
            except SQLAlchemyError as exc:
                log.debug("dead members not looked for: %s", str(exc).splitlines()[0][:200])

    async def _renew_forever(self) -> None:
        """The leases' beat twice a heartbeat, apart from the rebalancing (which may take
        a while when thousands of monitors move): a lease lapses after two heartbeats."""
        assert self.leases is not None
        while True:
            await self.clock.sleep(self.settings.heartbeat_interval / 2)
            try:
                await asyncio.to_thread(self.leases.renew)
            except SQLAlchemyError as exc:
                log.warning("leases not renewed: %s", str(exc).splitlines()[0][:200])

    async def _lead_if_free(self) -> None:
        """Sharing: become the one that does the once-only duties when nobody does."""
        if not self.leader and await asyncio.to_thread(self.lock.try_acquire):
            self.leader = True
            self._lead_since = self.clock.monotonic()
            log.info("doing the once-only duties (maintenance, SLA, subscribers, cleanup) from here")

    def _beat(self) -> None:
        now = self.clock.now()
        stalled = self.duties.stalled(self.clock.monotonic(), 3 * self.settings.heartbeat_interval)
        values = {
            "holder": self.holder,
            "started_at": self.started_at,
            "beat_at": now,
            "interval_s": int(self.settings.heartbeat_interval),
            "stalled": stalled,
            "monitors": len(self.config.monitors),
            "sinks": ",".join(sink.instance_name for sink in self.config.sinks)[:1000],
        }
        with get_session_factory(self.engine).begin() as session:
            upsert(
                session,
                RunnerHeartbeat,
                [{"name": HEARTBEAT_NAME, **values}],
                ("name",),
                lambda table, excluded: {key: excluded[key] for key in values},
            )

    async def _cleanup_daily(self) -> None:
        while True:
            now = self.clock.now()
            wait = (next_cleanup_time(now, self.settings.cleanup_hour_utc) - now).total_seconds()
            await self.clock.sleep(wait)
            if not self.leader:
                continue
            try:
                deleted = await asyncio.to_thread(
                    cleanup, self.engine, days=self.settings.retention_days, now=self.clock.now()
                )
                log.info(
                    "daily cleanup deleted %d check results older than %d days", deleted, self.settings.retention_days
                )
            except SQLAlchemyError as exc:
                log.error("daily cleanup failed: %s", exc)
