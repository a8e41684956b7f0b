"""statuscore's `Store` on SQLAlchemy, for one runner per database.

Writes are batched: `record` only queues, and a flusher writes everything queued in ONE
transaction (raw results, the rollups they change, each monitor's new state, the alerts
its transitions caused) at least once a second, and at once when an alert is waiting.

An alert is offered to the notifier only once it is committed with the state that
caused it, so a crash can never leave an alert sent whose cause was not recorded (which
would make the next run send it again). While the database is unreachable the runner
keeps going: results queue up to `max_buffered` (the oldest are dropped past that, and
counted), states and alerts are kept in memory and alerts are delivered from there; all
of it is written once the database is back.

With `leases` (runners sharing one PostgreSQL, `statusweb.runner.leases`) every write keeps
only the monitors whose lease this runner still holds at its generation; the rest is
refused and counted. Alerts then go out once stored, for the monitors this runner
decides. While the database is unreachable the runner alerts from memory for the
monitors it decided when the database went away (nobody can claim a lease without the
database); should only this runner have lost it, another may take over and send the
same news, so such alerts say "sent while the status database was unreachable".

With a `spool` (`statusweb.runner.spool`), what is buffered during an outage is also
appended to a local file as it happens, so a runner killed meanwhile loses nothing: the
next runner on the host writes the file to the database (`replay_spool`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from statuscore import Alert, CheckResult, Monitor, MonitorState, PageSpec, Transition, utcnow
from statusweb.models import (
    AlertOutbox,
    RegionObservation,
    Service,
    ServiceState,
    get_session_factory,
)
from statusweb.runner.leases import LeaseBook
from statusweb.runner.service_sync import sync_services
from statusweb.runner.spool import Spool
from statusweb.runner.sql import among, insert_ignoring_duplicates, upsert
from statusweb.runner.store_rows import (
    MAX_ERROR_CHARS,
    QueuedAlert,
    alert_from_row,
    apply_outbox_updates,
    fence_batch,
    queued_outbox_row,
    replay_spool_file,
    result_row,
    save_states,
    slug_of,
    spool_records,
    state_from_row,
    write_results,
)

log = logging.getLogger("statusweb.store")

OUTAGE_NOTE = (
    "sent while the status database was unreachable: if another runner took over meanwhile, "
    "a repeat of this alert is that one's copy"
)
OBSERVED = ("status", "checked_at", "latency_ms", "error")  # a region observation's columns


class SqlStore:
    """Implements `statuscore.Store`; see the module docstring for the guarantees."""

    def __init__(
        self,
        engine: Engine,
        *,
        flush_interval: float = 1.0,
        max_buffered: int = 100_000,
        now: Callable[[], datetime] = utcnow,
        leases: LeaseBook | None = None,
        spool: Spool | None = None,
    ) -> None:
        self.engine = engine
        self.leases = leases
        self.spool = spool
        self.session_factory = get_session_factory(engine)
        self.flush_interval = flush_interval
        self.max_buffered = max_buffered
        self.now = now
        self.service_ids: dict[str, int] = {}
        self.database_ok = True
        self.dropped_results = 0
        self.batches_written = 0
        self._results: list[CheckResult] = []
        self._states: dict[str, MonitorState] = {}
        self._alerts: OrderedDict[str, QueuedAlert] = OrderedDict()
        self._outbox_updates: dict[str, dict[str, Any]] = {}
        self._observations: dict[tuple[int, str], dict[str, Any]] = {}  # (service id, region) -> the latest
        self._lock: asyncio.Lock | None = None
        self._wake: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False
        self.on_alerts_ready: Callable[[], None] | None = None  # wakes the notifier: stored alerts can go

    # -- start-up (synchronous: called before the event loop runs checks) --------------

    def sync_services(self, monitors: Sequence[Monitor], pages: Sequence[PageSpec] = ()) -> dict[str, int]:
        """Make `page` and `service` match monitors.toml (service_sync.py); remember the ids."""
        self.service_ids = sync_services(self.session_factory, monitors, pages, self.now())
        return self.service_ids

    # -- the Store protocol --------------------------------------------------------------

    async def load_states(self) -> dict[str, MonitorState]:
        """Every service's saved state and every undelivered alert; starts the flusher."""
        states, alerts = await asyncio.to_thread(self._load)
        for alert in alerts:
            self._alerts.setdefault(alert.id, QueuedAlert(alert, persisted=True))
        self._start_flusher()
        return states

    async def record(
        self, result: CheckResult, state: MonitorState, transitions: Sequence[Transition], alerts: Sequence[Alert]
    ) -> None:
        self._start_flusher()
        self._results.append(result)
        self._states[result.slug] = state
        self._enforce_bound()
        for alert in alerts:
            self._alerts.setdefault(alert.id, QueuedAlert(alert, persisted=False))
        if not self.database_ok:
            self._spool([result], {result.slug: state}, alerts)
        if alerts:
            assert self._wake is not None
            self._wake.set()  # write now, so the alert can go out

    def adopt(self, alerts: Sequence[Alert]) -> None:
        """Alerts another writer already stored in the outbox (the SLA and region checks): deliver them."""
        for alert in alerts:
            self._alerts.setdefault(alert.id, QueuedAlert(alert, persisted=True, adopted=True))
        if alerts:
            self._alerts_ready()  # already stored: the notifier may send them now

    async def pending_alerts(self, now: datetime, limit: int = 100) -> list[Alert]:
        """What may go out now (see the module docstring); alerts sent from memory while
        the database is away carry OUTAGE_NOTE."""
        outage = not self.database_ok
        if self.leases is not None and not outage and not self.leases.fresh():
            return []  # paused, then back: until we renew, another runner may hold our monitors
        deciding = self._deciding_slugs() if self.leases is not None else None
        ready = [
            queued.alert if queued.persisted and not outage else replace(queued.alert, note=OUTAGE_NOTE)
            for queued in self._alerts.values()
            if queued.delivered_at is None
            and (queued.persisted or outage)
            and (deciding is None or queued.adopted or slug_of(queued.alert) in deciding)
        ]
        return ready[:limit]

    # -- sharing monitors with other runners (leases) -------------------------------------

    def observe(self, result: CheckResult, region: str) -> None:
        """What this runner's region saw of a monitor checked from several: written with
        the next batch (the latest only), where the deciding runner reads it."""
        service_id = self.service_ids.get(result.slug)
        if service_id is not None:
            self._observations[(service_id, region)] = {
                "service_id": service_id,
                "region": region,
                "status": result.status.value,
                "checked_at": result.checked_at,
                "latency_ms": result.latency_ms,
                "error": result.error[:MAX_ERROR_CHARS] if result.error else None,
            }

    def take_over(self, slugs: Sequence[str]) -> dict[str, MonitorState]:
        """Monitors just claimed from another runner: their saved states (for the
        scheduler) and their undelivered alerts (delivered from here now). Synchronous."""
        states, alerts = self._load(set(slugs))
        for alert in alerts:
            self._alerts.setdefault(alert.id, QueuedAlert(alert, persisted=True))
        return states

    def give_up(self, slugs: Sequence[str]) -> None:
        """Monitors another runner holds now: forget their queued alerts (theirs to send)."""
        gone = set(slugs)
        for alert_id in [
            key for key, queued in self._alerts.items() if not queued.adopted and slug_of(queued.alert) in gone
        ]:
            del self._alerts[alert_id]

    def _deciding_slugs(self) -> set[str]:
        assert self.leases is not None
        deciding = self.leases.deciding
        return {slug for slug, service_id in self.service_ids.items() if service_id in deciding}

    async def mark_delivered(self, alert_id: str, at: datetime) -> None:
        queued = self._alerts.get(alert_id)
        if queued is None:
            return
        if not queued.persisted:  # delivered during an outage: stored delivered when written
            queued.delivered_at = at
            if self.spool is not None and not self.database_ok:
                self.spool.append({"delivered": alert_id, "at": at})
            return
        del self._alerts[alert_id]
        try:
            await asyncio.to_thread(self._write_outbox_updates, {alert_id: {"delivered_at": at}})
        except SQLAlchemyError as exc:
            self._note_outage(exc)
            self._outbox_updates[alert_id] = {"delivered_at": at}
            if self.spool is not None:
                self.spool.append({"delivered": alert_id, "at": at})

    async def mark_failed(self, alert_id: str, *, attempts: int, next_try: datetime, error: str) -> None:
        queued = self._alerts.get(alert_id)
        if queued is None:
            return
        queued.alert = replace(queued.alert, attempts=attempts, next_try=next_try, last_error=error)
        if queued.persisted:
            self._outbox_updates[alert_id] = {
                "attempts": attempts,
                "next_try": next_try,
                "last_error": error[:MAX_ERROR_CHARS],
            }

    async def close(self) -> None:
        """Stop the flusher and write what is queued (if the database lets us)."""
        if self._flusher is not None:
            # A flag, not cancel(): on Python 3.11 a cancellation that races a wake-up
            # can be swallowed by the wait, and the flusher would run on.
            self._closing = True
            assert self._wake is not None
            self._wake.set()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        await self.flush()

    # -- writing -------------------------------------------------------------------------

    async def flush(self) -> bool:
        """Write everything queued in one transaction; False when the database failed."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            results, self._results = self._results, []
            states, self._states = self._states, {}
            new_alerts = [q for q in self._alerts.values() if not q.persisted]
            updates, self._outbox_updates = self._outbox_updates, {}
            observations, self._observations = self._observations, {}
            if not (results or states or new_alerts or updates or observations):
                return True
            try:
                refused = await asyncio.to_thread(self._write_batch, results, states, new_alerts, updates, observations)
            except SQLAlchemyError as exc:
                self._keep_for_later(exc, results, states, observations, updates)
                return False
            self._written(results, new_alerts, refused)
            return True

    def _keep_for_later(
        self,
        exc: SQLAlchemyError,
        results: list[CheckResult],
        states: dict[str, MonitorState],
        observations: dict[tuple[int, str], dict[str, Any]],
        updates: dict[str, dict[str, Any]],
    ) -> None:
        """A batch the database refused goes back in front of what came meanwhile (and,
        as the outage begins, to the spool with everything else waiting)."""
        if self.database_ok:
            self._spool(
                results + self._results,
                {**states, **self._states},
                [q.alert for q in self._alerts.values() if not q.persisted],
            )
        self._note_outage(exc)
        self._results[:0] = results
        self._enforce_bound()
        self._states = {**states, **self._states}
        self._observations = {**observations, **self._observations}
        self._outbox_updates = {**updates, **self._outbox_updates}

    def _written(self, results: list[CheckResult], new_alerts: list[QueuedAlert], refused: set[str]) -> None:
        """A batch is stored: its alerts may go (those the fence refused are another's)."""
        for queued in new_alerts:
            if queued.alert.id in refused:
                self._alerts.pop(queued.alert.id, None)
                continue
            queued.persisted = True
            if queued.delivered_at is not None:
                self._alerts.pop(queued.alert.id, None)
        self.batches_written += 1
        if len(new_alerts) > len(refused):
            self._alerts_ready()
        if not self.database_ok:
            log.warning("database reachable again: wrote %d buffered results", len(results))
            if self.spool is not None:
                self.spool.clear()
        self.database_ok = True

    def replay_spool(self, path: Path) -> int:
        """Write a spool file a runner that died during an outage left (store_rows.replay_spool_file)."""
        return replay_spool_file(self.session_factory, self.service_ids, path)

    def _spool(self, results: Sequence[CheckResult], states: dict[str, MonitorState], alerts: Sequence[Alert]) -> None:
        """Append what the database could not take to the local spool (see the module)."""
        if self.spool is not None:
            spool_records(self.spool, results, states, alerts, self.now())

    def _alerts_ready(self) -> None:
        if self.on_alerts_ready is not None:
            self.on_alerts_ready()

    def _enforce_bound(self) -> None:
        """Keep at most `max_buffered` results waiting, dropping (and counting) the oldest."""
        overflow = len(self._results) - self.max_buffered
        if overflow <= 0:
            return
        del self._results[:overflow]
        self.dropped_results += overflow
        if self.dropped_results % 1000 < overflow:
            log.error(
                "database unreachable: %d check results dropped so far (buffer bound %d); states and alerts are kept",
                self.dropped_results,
                self.max_buffered,
            )

    def _note_outage(self, exc: SQLAlchemyError) -> None:
        if self.database_ok:
            log.error(
                "database unreachable (%s); checks and alerts go on, results are buffered%s",
                str(exc).splitlines()[0][:200],
                f" and spooled to {self.spool.path}" if self.spool else "",
            )
            self.database_ok = False
            if any(not queued.persisted for queued in self._alerts.values()):
                self._alerts_ready()  # they waited to be stored: they go from memory now

    def _start_flusher(self) -> None:
        if self._flusher is None:
            self._wake = asyncio.Event()
            self._flusher = asyncio.ensure_future(self._flush_forever())

    async def _flush_forever(self) -> None:
        assert self._wake is not None
        while not self._closing:
            try:
                async with asyncio.timeout(self.flush_interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if self._closing:
                return
            if not await self.flush():
                await _pause(self.flush_interval * 2, self._wake)  # let a sick database breathe

    def _write_batch(
        self,
        results: list[CheckResult],
        states: dict[str, MonitorState],
        alerts: list[QueuedAlert],
        updates: dict[str, dict[str, Any]],
        observations: dict[tuple[int, str], dict[str, Any]] | None = None,
    ) -> set[str]:
        """One transaction; returns the ids of alerts refused by the fence (not stored)."""
        now = self.now()
        rows = [result_row(self.service_ids[r.slug], r) for r in results if r.slug in self.service_ids]
        seen = list((observations or {}).values())
        refused: set[str] = set()
        with self.session_factory.begin() as session:
            if self.leases is not None:
                rows, states, alerts, seen, refused = fence_batch(
                    self.leases, session, self.service_ids, rows, states, alerts, seen
                )
            upsert(
                session,
                RegionObservation,
                seen,
                ("service_id", "region"),
                lambda table, excluded: {name: excluded[name] for name in OBSERVED},
            )
            write_results(session, rows)
            save_states(
                session,
                {self.service_ids[slug]: state for slug, state in states.items() if slug in self.service_ids},
                now,
            )
            insert_ignoring_duplicates(session, AlertOutbox, [queued_outbox_row(q) for q in alerts])
            apply_outbox_updates(session, updates)
        return refused

    def _write_outbox_updates(self, updates: dict[str, dict[str, Any]]) -> None:
        with self.session_factory.begin() as session:
            apply_outbox_updates(session, updates)

    def _load(self, only: set[str] | None = None) -> tuple[dict[str, MonitorState], list[Alert]]:
        """Saved states and undelivered alerts: of every monitor, or of the slugs in `only`
        (with leases, `only` defaults to the monitors this runner decides)."""
        if only is None and self.leases is not None:
            only = self._deciding_slugs()
        with self.session_factory() as session:
            query = select(Service.slug, ServiceState).join(ServiceState)
            if only is not None:
                query = query.where(among(session, Service.slug, sorted(only)))
            states = {slug: state_from_row(slug, row) for slug, row in session.execute(query).all()}
            outbox = session.scalars(
                select(AlertOutbox)
                .where(AlertOutbox.delivered_at.is_(None))
                .order_by(AlertOutbox.created_at, AlertOutbox.id)
            ).all()
            alerts = [alert_from_row(row) for row in outbox]
            return states, [alert for alert in alerts if only is None or slug_of(alert) in only]


async def _pause(seconds: float, wake: asyncio.Event) -> None:
    """Sleep, but wake early when asked (to close)."""
    try:
        async with asyncio.timeout(seconds):
            await wake.wait()
    except TimeoutError:
        pass
