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
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from statuscore import Alert, CheckResult, GroupSpec, Monitor, MonitorState, PageSpec, Transition, utcnow
from statusweb.models import (
    get_session_factory,
)
from statusweb.runner.alert_queue import AlertQueue, QueuedAlert
from statusweb.runner.backlog import Backlog, Batch
from statusweb.runner.flusher import Flusher
from statusweb.runner.leases import LeaseBook
from statusweb.runner.service_sync import sync_services
from statusweb.runner.spool import Spool
from statusweb.runner.store_rows import (
    MAX_ERROR_CHARS,
    load_saved,
    observation_row,
    replay_spool_file,
    spool_records,
    write_batch,
    write_outbox_updates,
)

log = logging.getLogger("statusweb.store")

OUTAGE_NOTE = (
    "sent while the status database was unreachable: if another runner took over meanwhile, "
    "a repeat of this alert is that one's copy"
)


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
        self.now = now
        self.service_ids: dict[str, int] = {}
        self.database_ok = True
        self.batches_written = 0
        self.backlog = Backlog(max_buffered)
        self.alerts = AlertQueue()
        self._lock = asyncio.Lock()  # one flush at a time (binds no loop until first used)
        self._flusher = Flusher(self.flush, flush_interval)
        self.on_alerts_ready: Callable[[], None] | None = None  # wakes the notifier: stored alerts can go

    # -- start-up (synchronous: called before the event loop runs checks) --------------

    def sync_services(
        self, monitors: Sequence[Monitor], pages: Sequence[PageSpec] = (), groups: Sequence[GroupSpec] | None = None
    ) -> dict[str, int]:
        """Make `page` and `service` match monitors.toml (service_sync.py); remember the ids."""
        self.service_ids = sync_services(self.session_factory, monitors, pages, self.now(), groups)
        return self.service_ids

    # -- the Store protocol --------------------------------------------------------------

    async def load_states(self) -> dict[str, MonitorState]:
        """Every service's saved state and every undelivered alert (with leases, of the
        monitors this runner decides); starts the flusher."""
        deciding = self._deciding_slugs() if self.leases is not None else None
        states, alerts = await asyncio.to_thread(load_saved, self.session_factory, deciding)
        self.alerts.add(alerts, stored=True)
        self._flusher.start()
        return states

    async def record(
        self, result: CheckResult, state: MonitorState, transitions: Sequence[Transition], alerts: Sequence[Alert]
    ) -> None:
        self._flusher.start()
        self.backlog.add(result, state)
        self.alerts.add(alerts, stored=False)
        if not self.database_ok:
            self._spool([result], {result.slug: state}, alerts)
        if alerts:
            self._flusher.wake()  # write now, so the alert can go out

    def adopt(self, alerts: Sequence[Alert]) -> None:
        """Alerts another writer already stored in the outbox (the SLA and region checks): deliver them."""
        self.alerts.add(alerts, stored=True, adopted=True)
        if alerts:
            self._alerts_ready()  # already stored: the notifier may send them now

    async def pending_alerts(self, now: datetime, limit: int = 100) -> list[Alert]:
        """What may go out now (see the module docstring); alerts sent from memory while
        the database is away carry OUTAGE_NOTE."""
        outage = not self.database_ok
        if self.leases is not None and not outage and not self.leases.fresh():
            return []  # paused, then back: until we renew, another runner may hold our monitors
        deciding = self._deciding_slugs() if self.leases is not None else None
        return self.alerts.ready(outage=outage, deciding=deciding, note=OUTAGE_NOTE)[:limit]

    # -- sharing monitors with other runners (leases) -------------------------------------

    def observe(self, result: CheckResult, region: str) -> None:
        """What this runner's region saw of a monitor checked from several: written with
        the next batch (the latest only), where the deciding runner reads it."""
        service_id = self.service_ids.get(result.slug)
        if service_id is not None:
            self.backlog.waiting.observations[(service_id, region)] = observation_row(service_id, region, result)

    def take_over(self, slugs: Sequence[str]) -> dict[str, MonitorState]:
        """Monitors just claimed from another runner: their saved states (for the
        scheduler) and their undelivered alerts (delivered from here now). Synchronous."""
        states, alerts = load_saved(self.session_factory, set(slugs))
        self.alerts.add(alerts, stored=True)
        return states

    def give_up(self, slugs: Sequence[str]) -> None:
        """Monitors another runner holds now: forget their queued alerts (theirs to send)."""
        self.alerts.give_up(slugs)

    def _deciding_slugs(self) -> set[str]:
        assert self.leases is not None
        deciding = self.leases.deciding
        return {slug for slug, service_id in self.service_ids.items() if service_id in deciding}

    async def mark_delivered(self, alert_id: str, at: datetime) -> None:
        queued = self.alerts.get(alert_id)
        if queued is None:
            return
        if not queued.persisted:  # delivered during an outage: stored delivered when written
            queued.delivered_at = at
            if self.spool is not None and not self.database_ok:
                self.spool.append({"delivered": alert_id, "at": at})
            return
        self.alerts.drop(alert_id)
        try:
            await asyncio.to_thread(write_outbox_updates, self.session_factory, {alert_id: {"delivered_at": at}})
        except SQLAlchemyError as exc:
            self._note_outage(exc)
            self.backlog.waiting.updates[alert_id] = {"delivered_at": at}
            if self.spool is not None:
                self.spool.append({"delivered": alert_id, "at": at})

    async def mark_failed(self, alert_id: str, *, attempts: int, next_try: datetime, error: str) -> None:
        queued = self.alerts.get(alert_id)
        if queued is None:
            return
        queued.alert = replace(queued.alert, attempts=attempts, next_try=next_try, last_error=error)
        if queued.persisted:
            values = {"attempts": attempts, "next_try": next_try, "last_error": error[:MAX_ERROR_CHARS]}
            self.backlog.waiting.updates[alert_id] = values

    async def close(self) -> None:
        """Stop the flusher and write what is queued (if the database lets us)."""
        await self._flusher.stop()
        await self.flush()

    # -- writing -------------------------------------------------------------------------

    async def flush(self) -> bool:
        """Write everything queued in one transaction; False when the database failed."""
        async with self._lock:
            batch, new_alerts = self.backlog.take(), self.alerts.unstored()
            if not (batch or new_alerts):
                return True
            try:
                refused = await asyncio.to_thread(self._write, batch, new_alerts)
            except SQLAlchemyError as exc:
                self._keep_for_later(exc, batch)
                return False
            self._written(batch.results, new_alerts, refused)
            return True

    def _write(self, batch: Batch, new_alerts: list[QueuedAlert]) -> set[str]:
        return write_batch(self.session_factory, self.service_ids, self.leases, self.now(), batch, new_alerts)

    def _keep_for_later(self, exc: SQLAlchemyError, batch: Batch) -> None:
        """A batch the database refused goes back in front of what came meanwhile (and,
        as the outage begins, to the spool with everything else waiting)."""
        if self.database_ok:
            everything = batch.before(self.backlog.waiting)
            self._spool(everything.results, everything.states, [q.alert for q in self.alerts.unstored()])
        self._note_outage(exc)
        self.backlog.put_back(batch)

    def _written(self, results: list[CheckResult], new_alerts: list[QueuedAlert], refused: set[str]) -> None:
        """A batch is stored: its alerts may go (those the fence refused are another's)."""
        self.alerts.stored(new_alerts, refused)
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

    def _note_outage(self, exc: SQLAlchemyError) -> None:
        if self.database_ok:
            log.error(
                "database unreachable (%s); checks and alerts go on, results are buffered%s",
                str(exc).splitlines()[0][:200],
                f" and spooled to {self.spool.path}" if self.spool else "",
            )
            self.database_ok = False
            if self.alerts.unstored():
                self._alerts_ready()  # they waited to be stored: they go from memory now

    @property
    def dropped_results(self) -> int:
        """Check results dropped while the database was away, past `max_buffered`."""
        return self.backlog.dropped
