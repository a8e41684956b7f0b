"""The runner's duties, besides checking: every `duty_interval`, the maintenance calendar
refreshed, spools of dead runners replayed, other regions' votes read and "check now"
requests taken; and by the leader only (the once-only duties), maintenance windows moved
along, subscribers' messages sent, silent regions and SLA figures alerted, the heartbeat
row written and the daily cleanup. `DutyLog` keeps how each went: when it last completed
a round and its last error, so a duty that keeps failing is named in the heartbeat, on
/healthz and in the admin, instead of failing unseen."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from statusweb.models import HEARTBEAT_NAME, RunnerHeartbeat, get_session_factory
from statusweb.runner import region_alerts, requests, sla_alerts
from statusweb.runner.retention import cleanup, next_cleanup_time
from statusweb.runner.sql import upsert
from statusweb.runner.subscribers import deliver_due, deliver_outgoing, fan_out
from statusweb.services.maintenance import advance_windows, calendar_windows

if TYPE_CHECKING:
    from statusweb.runner.runner import Runner

log = logging.getLogger("statusweb.runner")

MAX_STALLED_CHARS = 2000  # the heartbeat's `stalled` column


@dataclass
class DutyLog:
    started: float  # monotonic seconds: a duty that never ran counts from here
    done: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def completed(self, name: str, at: float) -> None:
        self.done[name] = at
        self.errors.pop(name, None)

    def failed(self, name: str, error: str, at: float) -> bool:
        """Record a failed round; True when its error is new (worth a log line: a duty
        retried every second must not write the same traceback every second)."""
        new = self.errors.get(name) != error
        self.errors[name] = error
        self.done.setdefault(name, self.started)
        return new

    def stalled(self, now: float, limit: float) -> str:
        """One line per duty with no completed round for `limit` seconds: "name: error"."""
        lines = [
            f"{name}: {self.errors.get(name, 'no round completed')}"
            for name, at in sorted(self.done.items())
            if now - at > limit
        ]
        return "\n".join(lines)[:MAX_STALLED_CHARS]


class Duties:
    """One runner's duties; `runner.leader` decides whether it does the once-only ones."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.log = DutyLog(started=runner.clock.monotonic())
        self.requests: set[asyncio.Task[None]] = set()  # "check now" requests under way
        self._spool_backlog: list[Path] = []  # adopted spool files not written yet

    async def forever(self) -> None:
        """Every `duty_interval`, each duty on its own: one that fails (a bad row, a bug,
        the database gone) is logged and tried again next round while the others go on;
        one with no completed round for 3 heartbeats is named in the heartbeat (/healthz).
        SLA figures are compared with their targets every `sla_interval`."""
        runner = self.runner
        clock = runner.clock
        sla_due = clock.monotonic()
        while True:
            await self.run("maintenance", lambda: asyncio.to_thread(self.plan_maintenance))
            await self.run("spool", self.replay_spools)
            if runner.sharing is not None and runner.scheduler is not None and runner.scheduler.verdict is not None:
                await self.run("votes", runner.sharing.read_votes)
            if runner.sharing is not None and runner.sharing.related:
                await self.run("dependencies", runner.sharing.read_related_states)
            await self.run("check-now", self.take_requests)
            if runner.leader:
                await self.run("subscribers", lambda: asyncio.to_thread(self.send_to_subscribers))
                if runner.leases is not None:
                    await self.run("regions", self.alert_silent_regions)
                if clock.monotonic() < sla_due:  # not due: its last round completed (a failed one stays due)
                    self.log.completed("sla", clock.monotonic())
                elif await self.run("sla", self.alert_sla):
                    sla_due = clock.monotonic() + runner.settings.sla_interval
            await clock.sleep(runner.settings.duty_interval)

    async def run(self, name: str, work: Callable[[], Awaitable[None]]) -> bool:
        """Run one duty's round; True when it completed."""
        now = self.runner.clock.monotonic
        try:
            await work()
        except SQLAlchemyError as exc:
            if self.log.failed(name, str(exc).splitlines()[0][:200], now()):
                log.warning("duty %s skipped (retried every round): %s", name, str(exc).splitlines()[0][:200])
            return False
        except Exception as exc:  # a bug or a bad row: the other duties go on, this one is retried
            if self.log.failed(name, f"{type(exc).__name__}: {exc}"[:200], now()):
                log.exception("duty %s failed (retried every round); the other duties go on", name)
            return False
        self.log.completed(name, now())
        return True

    async def replay_spools(self) -> None:
        """Spool files runners of this host left when they died during a database outage:
        written to the database now (a file that fails stays, and the duty says so)."""
        store = self.runner.store
        if not store.database_ok:
            return
        self._spool_backlog += self.runner.spool.adopt_orphans()
        while self._spool_backlog:
            path = self._spool_backlog[0]
            records = await asyncio.to_thread(store.replay_spool, path)
            self._spool_backlog.pop(0)
            log.warning(
                "wrote %d records that a runner killed during a database outage left in its spool (%s)",
                records,
                path.name,
            )

    async def take_requests(self) -> None:
        """ "Check now" requests for the monitors checked here; the leader also answers
        those for monitors no runner checks (not in the monitors file)."""
        runner = self.runner
        assert runner.scheduler is not None
        waiting = await asyncio.to_thread(requests.open_requests, runner.engine, runner.clock.now())
        if not waiting:
            return
        ours = set(runner.scheduler.assigned)
        for request_id, slug in waiting:
            if runner.leases is None or slug in ours or (runner.leader and slug not in runner.checked_here):
                self._take(request_id, slug)

    def _take(self, request_id: int, slug: str) -> None:
        """Start one check-now request unless it is already under way."""
        if any(task.get_name() == f"check-now-{request_id}" for task in self.requests):
            return
        runner = self.runner
        assert runner.scheduler is not None
        task = asyncio.ensure_future(
            requests.carry_out(runner.engine, runner.scheduler, request_id, slug, runner.clock.now)
        )
        task.set_name(f"check-now-{request_id}")
        self.requests.add(task)
        task.add_done_callback(self.requests.discard)

    async def alert_silent_regions(self) -> None:
        """Regions with no live runner (or one back), told once each."""
        runner = self.runner
        assert runner.leases is not None and runner.scheduler is not None
        if runner.clock.monotonic() - runner.lead_since >= 2 * runner.leases.ttl:
            # (after a grace: runners started together join within a heartbeat or two)
            now = runner.clock.now()
            render = partial(region_alerts.render, runner.scheduler, now)
            made = await asyncio.to_thread(region_alerts.evaluate, runner.engine, runner.leases.ttl, now, render)
            runner.store.adopt(made)

    async def alert_sla(self) -> None:
        runner = self.runner
        assert runner.scheduler is not None
        now = runner.clock.now()
        render = partial(sla_alerts.render, runner.scheduler, runner.engine, now)
        runner.store.adopt(await asyncio.to_thread(sla_alerts.evaluate, runner.engine, now, render))

    def send_to_subscribers(self) -> None:
        """New incident and maintenance updates into the subscribers' outbox, then what is due."""
        runner = self.runner
        now = runner.clock.now()
        with get_session_factory(runner.engine).begin() as session:
            fan_out(session, now, runner.delivery)
        sent, failed = deliver_due(runner.engine, runner.delivery, now)
        if sent or failed:
            log.info("subscribers: %d messages sent, %d failed (retried later)", sent, failed)
        sent, failed = deliver_outgoing(runner.engine, runner.delivery, now)
        if sent or failed:
            log.info("invitations: %d sent, %d failed (retried later)", sent, failed)

    def plan_maintenance(self) -> None:
        """The calendar the scheduler reads; the leader also moves windows along."""
        runner = self.runner
        now = runner.clock.now()
        with get_session_factory(runner.engine).begin() as session:
            if runner.leader:
                for window in advance_windows(session, now):
                    log.info("maintenance %d (%s): %s", window.id, window.title, window.status)
            runner.calendar.replace(calendar_windows(session, now))

    def beat(self) -> None:
        """The heartbeat row /healthz and the admin read (the leader's)."""
        runner = self.runner
        settings = runner.settings
        values = {
            "holder": runner.holder,
            "started_at": runner.started_at,
            "beat_at": runner.clock.now(),
            "interval_s": int(settings.heartbeat_interval),
            "stalled": self.log.stalled(runner.clock.monotonic(), 3 * settings.heartbeat_interval),
            "monitors": len(runner.config.monitors),
            "sinks": ",".join(sink.instance_name for sink in runner.config.sinks)[:1000],
        }
        with get_session_factory(runner.engine).begin() as session:
            upsert(
                session,
                RunnerHeartbeat,
                [{"name": HEARTBEAT_NAME, **values}],
                ("name",),
                lambda table, excluded: {key: excluded[key] for key in values},
            )

    async def last_beat(self) -> None:
        if not self.runner.leader:
            return
        try:
            await asyncio.to_thread(self.beat)
        except RuntimeError:  # at interpreter exit the thread pools take no more work
            self.beat()
        except SQLAlchemyError as exc:
            log.warning("last heartbeat not written: %s", str(exc).splitlines()[0][:200])

    async def cleanup_daily(self) -> None:
        runner = self.runner
        days = runner.settings.retention_days
        while True:
            now = runner.clock.now()
            await runner.clock.sleep((next_cleanup_time(now, runner.settings.cleanup_hour_utc) - now).total_seconds())
            if not runner.leader:
                continue
            try:
                deleted = await asyncio.to_thread(cleanup, runner.engine, days=days, now=runner.clock.now())
                log.info("daily cleanup deleted %d check results older than %d days", deleted, days)
            except SQLAlchemyError as exc:
                log.error("daily cleanup failed: %s", exc)
