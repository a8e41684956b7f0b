"""How SqlStore's records look as rows (raw results, the rollups they add to, each
monitor's state, the alert outbox) and the work on them that needs no store: what of a
batch the lease fence lets through, a spool's records out and back in."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import case, or_, select, update

from statuscore import Alert, CheckResult, MonitorState, Status
from statusweb.models import (
    AlertOutbox,
    CheckResultRow,
    RegionObservation,
    RollupDaily,
    RollupHourly,
    Service,
    ServiceState,
)
from statusweb.models.rollups import SUMMED_COLUMNS, RollupTotals, day_bucket, hour_bucket, totals_by_bucket
from statusweb.runner.alert_queue import QueuedAlert, slug_of
from statusweb.runner.backlog import Batch
from statusweb.runner.leases import LeaseBook
from statusweb.runner.spool import Spool, read_spool
from statusweb.runner.sql import among, insert_ignoring_duplicates, insert_rows, upsert

log = logging.getLogger("statusweb.store")

MAX_ERROR_CHARS = 2000  # of an error kept in a row
OBSERVED = ("status", "checked_at", "latency_ms", "error")  # a region observation's columns


def observation_row(service_id: int, region: str, result: CheckResult) -> dict[str, Any]:
    """What one region saw of a monitor checked from several (the latest only is kept)."""
    return {
        "service_id": service_id,
        "region": region,
        "status": result.status.value,
        "checked_at": result.checked_at,
        "latency_ms": result.latency_ms,
        "error": result.error[:MAX_ERROR_CHARS] if result.error else None,
    }


def result_row(service_id: int, result: CheckResult) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "checked_at": result.checked_at,
        "status": result.status.value,
        "latency_ms": result.latency_ms,
        "status_code": result.status_code,
        "error": result.error[:MAX_ERROR_CHARS] if result.error else None,
        "attempts": result.attempts,
    }


def write_results(session: Any, rows: list[dict[str, Any]]) -> None:
    """Raw results and the rollups they change."""
    if not rows:
        return
    insert_rows(session, CheckResultRow, rows)
    samples = [(row["service_id"], row["checked_at"], row["status"], row["latency_ms"]) for row in rows]
    add_to_rollups(session, RollupHourly, totals_by_bucket(samples, hour_bucket))
    add_to_rollups(session, RollupDaily, totals_by_bucket(samples, day_bucket))


def add_to_rollups(session: Any, model: type, totals: dict[tuple[int, datetime], RollupTotals]) -> None:
    """Add a batch's totals to the stored rows in SQL: a sum, so it equals a
    recomputation, and safe with several writers (no read-modify-write)."""
    rows = [
        {"service_id": service_id, "bucket": bucket, **batch.as_columns()}
        for (service_id, bucket), batch in totals.items()
    ]

    def add_up(table: Any, excluded: Any) -> dict[str, Any]:
        added = {name: table.c[name] + excluded[name] for name in SUMMED_COLUMNS}
        added["latency_max_ms"] = case(
            (excluded.latency_max_ms > table.c.latency_max_ms, excluded.latency_max_ms), else_=table.c.latency_max_ms
        )
        return added

    upsert(session, model, rows, ("service_id", "bucket"), add_up)


def save_states(session: Any, states: dict[int, MonitorState], now: datetime) -> None:
    _upsert_states(
        session, [{"service_id": service_id, **state_columns(state, now)} for service_id, state in states.items()]
    )


def save_newer_states(session: Any, rows: list[dict[str, Any]]) -> None:
    """States from a spool, each kept only where the stored one was checked earlier
    (another runner may have decided the monitor since)."""
    _upsert_states(
        session,
        rows,
        only_if=lambda table, excluded: or_(
            table.c.last_checked_at.is_(None), table.c.last_checked_at < excluded.last_checked_at
        ),
    )


def _upsert_states(session: Any, rows: list[dict[str, Any]], only_if: Any = None) -> None:
    """Each row's state columns over the stored ones (all of them, or where `only_if`)."""
    upsert(
        session,
        ServiceState,
        rows,
        ("service_id",),
        lambda table, excluded: {name: excluded[name] for name in rows[0] if name != "service_id"},
        only_if=only_if,
    )


def state_columns(state: MonitorState, now: datetime) -> dict[str, Any]:
    last = state.last_result
    return {
        "status": state.status.value,
        "since": state.since,
        "consecutive_failures": state.consecutive_failures,
        "consecutive_successes": state.consecutive_successes,
        "failing_since": state.failing_since,
        "last_alert_at": state.last_alert_at,
        "flapping": state.flapping,
        "flips": " ".join(t.isoformat() for t in state.flips),
        "last_checked_at": last.checked_at if last else None,
        "last_status": last.status.value if last else None,
        "last_latency_ms": last.latency_ms if last else None,
        "last_status_code": last.status_code if last else None,
        "last_error": last.error[:MAX_ERROR_CHARS] if last and last.error else None,
        "last_attempts": last.attempts if last else None,
        "last_max_attempts": last.max_attempts if last else None,
        "updated_at": now,
    }


def state_from_row(slug: str, row: ServiceState) -> MonitorState:
    last = None
    if row.last_checked_at is not None and row.last_status is not None:
        last = CheckResult(
            monitor=slug,
            slug=slug,
            status=Status(row.last_status),
            checked_at=row.last_checked_at,
            latency=(row.last_latency_ms or 0) / 1000,
            status_code=row.last_status_code,
            error=row.last_error,
            attempts=row.last_attempts or 1,
            max_attempts=row.last_max_attempts or 1,
        )
    return MonitorState(
        status=Status(row.status),
        since=row.since,
        consecutive_failures=row.consecutive_failures,
        consecutive_successes=row.consecutive_successes,
        failing_since=row.failing_since,
        last_result=last,
        last_alert_at=row.last_alert_at,
        flapping=row.flapping,
        flips=tuple(datetime.fromisoformat(t) for t in row.flips.split()),
    )


def outbox_row(alert: Alert, delivered_at: datetime | None = None) -> dict[str, Any]:
    """An alert as an `alert_outbox` row."""
    return {
        "id": alert.id,
        "sink": alert.sink,
        "monitor": alert.monitor,
        "kind": alert.kind,
        "payload": json.dumps(alert.payload),
        "created_at": alert.created_at,
        "attempts": alert.attempts,
        "next_try": alert.next_try,
        "last_error": alert.last_error,
        "delivered_at": delivered_at,
    }


def alert_from_row(row: AlertOutbox) -> Alert:
    return Alert(
        id=row.id,
        sink=row.sink,
        monitor=row.monitor,
        kind=row.kind,
        payload=json.loads(row.payload),
        created_at=row.created_at,
        attempts=row.attempts,
        next_try=row.next_try,
        last_error=row.last_error,
    )


def apply_outbox_updates(session: Any, updates: dict[str, dict[str, Any]]) -> None:
    for alert_id, values in updates.items():
        session.execute(update(AlertOutbox).where(AlertOutbox.id == alert_id).values(**values))


def queued_outbox_row(queued: QueuedAlert) -> dict[str, Any]:
    return outbox_row(queued.alert, queued.delivered_at)


def spool_records(
    spool: Spool,
    results: Sequence[CheckResult],
    states: dict[str, MonitorState],
    alerts: Sequence[Alert],
    now: datetime,
) -> None:
    """What the database could not take, appended to the local spool: results (droppable
    past the spool's bound), states and alerts, each named by slug."""
    for result in results:
        row = result_row(0, result)
        del row["service_id"]  # the slug says which, in any process
        spool.append({"result": {"slug": result.slug, **row}}, droppable=True)
    for slug, state in states.items():
        spool.append({"state": {"slug": slug, **state_columns(state, now)}})
    for alert in alerts:
        spool.append({"alert": outbox_row(alert)})


def replay_spool_file(session_factory: Any, service_ids: dict[str, int], path: Path) -> int:
    """Write a spool file a runner that died during an outage left: its results (and
    rollups), its states where newer than the stored ones, its alerts (delivered or
    not: the undelivered are sent by whoever decides the monitor now). The records
    written; the file is removed once they are. Synchronous."""
    batch = read_spool(path)
    ids = service_ids
    with session_factory.begin() as session:
        write_results(session, [{**row, "service_id": ids[slug]} for slug, row in batch.results if slug in ids])
        save_newer_states(
            session, [{**row, "service_id": ids[slug]} for slug, row in batch.states.items() if slug in ids]
        )
        insert_ignoring_duplicates(
            session,
            AlertOutbox,
            [
                {**row, "delivered_at": batch.delivered.get(alert_id, row["delivered_at"])}
                for alert_id, row in batch.alerts.items()
            ],
        )
        apply_outbox_updates(
            session,
            {
                alert_id: {"delivered_at": at}
                for alert_id, at in batch.delivered.items()
                if alert_id not in batch.alerts
            },
        )
    os.unlink(path)
    return batch.records


def fence_batch(
    leases: LeaseBook,
    session: Any,
    ids: dict[str, int],
    rows: list[dict[str, Any]],
    states: dict[str, MonitorState],
    alerts: list[QueuedAlert],
    seen: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, MonitorState], list[QueuedAlert], list[dict[str, Any]], set[str]]:
    """What of a batch this runner may still write: observations of the monitors whose
    lease it holds at its generation (locked until the batch commits); results, states
    and alerts of those it still decides. The rest is counted and dropped."""
    judged = {row["service_id"] for row in rows} | {ids[slug] for slug in states if slug in ids}
    observed = {row["service_id"] for row in seen}
    held, deciding = leases.fence(session, judged | observed)
    kept_rows = [row for row in rows if row["service_id"] in deciding]
    kept_states = {slug: state for slug, state in states.items() if ids.get(slug) in deciding}
    kept_alerts = [q for q in alerts if ids.get(slug_of(q.alert)) in deciding]
    kept_seen = [row for row in seen if row["service_id"] in held]
    late = len(rows) - len(kept_rows) + len(states) - len(kept_states) + len(seen) - len(kept_seen)
    if late:
        leases.refused += late
        log.warning(
            "refused %d late writes (results, states, observations) for %d monitors whose lease "
            "or decision another runner holds now",
            late,
            len((judged - deciding) | (observed - held)),
        )
    refused = {q.alert.id for q in alerts} - {q.alert.id for q in kept_alerts}
    return kept_rows, kept_states, kept_alerts, kept_seen, refused


def write_batch(
    session_factory: Any,
    service_ids: dict[str, int],
    leases: LeaseBook | None,
    now: datetime,
    batch: Batch,
    alerts: list[QueuedAlert],
) -> set[str]:
    """A batch in one transaction: results, rollups, states, observations, new alerts and
    outbox updates; the ids of alerts the lease fence refused (not stored)."""
    rows = [result_row(service_ids[r.slug], r) for r in batch.results if r.slug in service_ids]
    states, seen, updates = batch.states, list(batch.observations.values()), batch.updates
    refused: set[str] = set()
    with session_factory.begin() as session:
        if leases is not None:
            rows, states, alerts, seen, refused = fence_batch(leases, session, service_ids, rows, states, alerts, seen)
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
            {service_ids[slug]: state for slug, state in states.items() if slug in service_ids},
            now,
        )
        insert_ignoring_duplicates(session, AlertOutbox, [queued_outbox_row(q) for q in alerts])
        apply_outbox_updates(session, updates)
    return refused


def write_outbox_updates(session_factory: Any, updates: dict[str, dict[str, Any]]) -> None:
    with session_factory.begin() as session:
        apply_outbox_updates(session, updates)


def load_saved(session_factory: Any, only: set[str] | None) -> tuple[dict[str, MonitorState], list[Alert]]:
    """Saved states and undelivered alerts: of every monitor, or of the slugs in `only`."""
    with session_factory() as session:
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
