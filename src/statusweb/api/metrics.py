"""/metrics for Prometheus (prometheus_client), read from the database at scrape time so
the figures are right whether the runner is in this process or its own."""

from __future__ import annotations

from typing import Any, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import AlertOutbox, RollupDaily, Service, ServiceState
from ..rollups import LATENCY_BANDS_MS, RollupTotals
from ..runner import heartbeat_age

STATUSES = ("up", "degraded", "down", "maintenance", "unknown")


class DatabaseCollector:
    def __init__(self, session: Session, engine: Any) -> None:
        self.session = session
        self.engine = engine

    def collect(self) -> Iterator[Any]:
        session = self.session
        services = session.execute(select(Service.id, Service.slug, ServiceState.last_status)
                                   .outerjoin(ServiceState).where(Service.hidden.is_(False))).all()
        up = GaugeMetricFamily("statuscore_up", "1 when the service's last check passed (up or degraded)",
                               labels=["service"])
        status = GaugeMetricFamily("statuscore_status", "1 for the service's current status", labels=["service", "status"])
        for _, slug, last in services:
            up.add_metric([slug], 1.0 if last in ("up", "degraded") else 0.0)
            for name in STATUSES:
                status.add_metric([slug, name], 1.0 if (last or "unknown") == name else 0.0)
        yield up
        yield status
        yield from self._from_rollups({service_id: slug for service_id, slug, _ in services})
        yield from self._alerts()
        age = heartbeat_age(self.engine)
        heartbeat = GaugeMetricFamily("statuscore_runner_heartbeat_age_seconds",
                                      "Seconds since the runner's last heartbeat (NaN: never)")
        heartbeat.add_metric([], float("nan") if age is None else age)
        yield heartbeat

    def _from_rollups(self, slugs: dict[int, str]) -> Iterator[Any]:
        checks = CounterMetricFamily("statuscore_checks", "Checks recorded, by result", labels=["service", "result"])
        latency = HistogramMetricFamily("statuscore_check_latency_seconds",
                                        "Latency of passing checks", labels=["service"])
        totals: dict[int, RollupTotals] = {}
        for row in self.session.scalars(select(RollupDaily).where(RollupDaily.service_id.in_(slugs))):
            totals.setdefault(row.service_id, RollupTotals()).merge(RollupTotals.from_columns(row))
        for service_id, slug in slugs.items():
            total = totals.get(service_id, RollupTotals())
            for result in ("up", "degraded", "down", "maintenance"):
                checks.add_metric([slug, result], getattr(total, f"{result}_count"))
            cumulative, buckets = 0, []
            for edge, count in zip(LATENCY_BANDS_MS, total.histogram):
                cumulative += count
                buckets.append((str(edge / 1000), cumulative))
            buckets.append(("+Inf", total.latency_count))
            latency.add_metric([slug], buckets, sum_value=total.latency_sum_ms / 1000)
        yield checks
        yield latency

    def _alerts(self) -> Iterator[Any]:
        sent = CounterMetricFamily("statuscore_alerts_sent", "Alerts a sink accepted", labels=["sink"])
        failed = CounterMetricFamily("statuscore_alerts_failed", "Failed delivery attempts", labels=["sink"])
        rows = self.session.execute(select(AlertOutbox.sink, func.count(AlertOutbox.delivered_at),
                                           func.coalesce(func.sum(AlertOutbox.attempts), 0))
                                    .group_by(AlertOutbox.sink)).all()
        for sink, delivered, attempts in rows:
            sent.add_metric([sink], delivered)
            failed.add_metric([sink], attempts)
        backlog = GaugeMetricFamily("statuscore_alert_outbox_backlog", "Alerts waiting for delivery")
        backlog.add_metric([], self.session.scalar(select(func.count()).select_from(AlertOutbox)
                                                   .where(AlertOutbox.delivered_at.is_(None))) or 0)
        yield sent
        yield failed
        yield backlog


@view_config(route_name="metrics")
def metrics(request: Request) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(request.dbsession, request.registry["statusweb.engine"]))
    response = Response(generate_latest(registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.cache_control = "no-store"
    return response
