"""/metrics for Prometheus (prometheus_client), read from the database at scrape time so
the figures are right whether the runner is in this process or its own.

Each scrape is a handful of aggregate queries (SUMs over the daily rollups in SQL: work
that does not grow with the years of history kept in Python), and the answer is kept a
few seconds, so a busy scraper cannot make /healthz or the page slow. In production it
needs `Authorization: Bearer $STATUSWEB_METRICS_TOKEN`; without a token configured it is
not served at all (404), unless the ini says `statusweb.metrics_public = true`.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any, NamedTuple

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuscore import Status, utcnow
from statusweb.models import AlertOutbox, RollupDaily, Service, ServiceState
from statusweb.models.rollups import CHECK_STATUSES, LATENCY_BANDS_MS, PASSING, SUMMED_COLUMNS, RollupTotals, day_bucket
from statusweb.pages.queries import heartbeat_age
from statusweb.routes import READ_METHODS

STATUSES = (*CHECK_STATUSES, Status.UNKNOWN.value)


class ServiceFigures(NamedTuple):
    """What /metrics says of one service: its last result and its totals of every day kept."""

    slug: str
    last: str | None
    total: RollupTotals

    def key(self) -> tuple[Any, ...]:
        """Equal keys, equal lines: the figures the service's samples show."""
        total = self.total
        return (
            self.last,
            total.up_count,
            total.degraded_count,
            total.down_count,
            total.maintenance_count,
            total.latency_count,
            total.latency_sum_ms,
            *total.histogram,
        )


LATENCY_EDGES = [str(edge / 1000) for edge in LATENCY_BANDS_MS]  # the buckets' `le`, +Inf apart


def service_values(row: ServiceFigures) -> list[list[float]]:
    """One service's sample values in each per-service family, in the order
    prometheus_client writes them (the histogram: its buckets, +Inf, count, sum)."""
    last, total = row.last, row.total
    buckets = list(accumulate(total.histogram[: len(LATENCY_BANDS_MS)]))
    return [
        [1.0 if last in PASSING else 0.0],
        [1.0 if (last or "unknown") == name else 0.0 for name in STATUSES],
        [getattr(total, f"{result}_count") for result in CHECK_STATUSES],
        [*buckets, total.latency_count, total.latency_count, total.latency_sum_ms / 1000],
    ]


def service_families(figures: Sequence[ServiceFigures]) -> tuple[list[Metric], list[list[int]]]:
    """The per-service families for `figures` and, per family, where each service's
    samples end (each service adds its own run of samples to each family)."""
    up = GaugeMetricFamily(
        "statuscore_up", "1 when the service's last check passed (up or degraded)", labels=["service"]
    )
    status = GaugeMetricFamily("statuscore_status", "1 for the service's current status", labels=["service", "status"])
    checks = CounterMetricFamily("statuscore_checks", "Checks recorded, by result", labels=["service", "result"])
    latency = HistogramMetricFamily("statuscore_check_latency_seconds", "Latency of passing checks", labels=["service"])
    families: list[Metric] = [up, status, checks, latency]
    ends: list[list[int]] = [[] for _ in families]
    for row in figures:
        slug = row.slug
        up_value, statuses, counts, latencies = service_values(row)
        up.add_metric([slug], up_value[0])
        for name, value in zip(STATUSES, statuses):
            status.add_metric([slug, name], value)
        for result, count in zip(CHECK_STATUSES, counts):
            checks.add_metric([slug, result], count)
        *buckets, count, _, seconds = latencies
        latency.add_metric([slug], [*zip(LATENCY_EDGES, buckets), ("+Inf", count)], sum_value=seconds)
        for family, family_ends in zip(families, ends):
            family_ends.append(len(family.samples))
    return families, ends


class _Kept(NamedTuple):
    """One service's lines in each family, the figures they show, and each line up to
    its value (the name and labels prometheus_client wrote, escapes and all)."""

    key: tuple[Any, ...]
    prefixes: list[list[bytes]]
    lines: list[bytes]


class ServiceLines:
    """Each service's exposition lines as prometheus_client wrote them, kept with the
    figures they show, so a scrape formats only the services whose figures changed since
    the one before; and for a service already formatted once, only its values change: its
    lines are its kept names and labels with the new values (prometheus_client's
    `floatToGoString`). Formatting ~27 samples a service whole is most of a scrape's time
    (4,000 samples for 150 services). Not thread-safe: the scrape cache's lock serialises
    renders."""

    def __init__(self) -> None:
        self._kept: dict[str, _Kept] = {}
        self.headers = [_exposition(family) for family in service_families(())[0]]  # HELP and TYPE only
        self.formatted = 0  # services formatted whole, for the tests and the benchmark
        self.refilled = 0  # services given new values in their kept lines

    def exposition(self, figures: Sequence[ServiceFigures]) -> bytes:
        """The per-service families in the text format, byte for byte what
        `generate_latest` writes for them, in the order of `figures`."""
        keys = [row.key() for row in figures]
        changed = [
            (row, key)
            for row, key in zip(figures, keys)
            if row.slug not in self._kept or self._kept[row.slug].key != key
        ]
        fresh = self._refill([(row, key) for row, key in changed if row.slug in self._kept])
        fresh.update(self._format([(row, key) for row, key in changed if row.slug not in fresh]))
        kept = {row.slug: fresh.get(row.slug) or self._kept[row.slug] for row in figures}
        self._kept = kept  # services no longer listed are forgotten
        parts = []
        for index, header in enumerate(self.headers):
            parts.append(header)
            parts.extend(kept[row.slug].lines[index] for row in figures)
        return b"".join(parts)

    def _format(self, changed: list[tuple[ServiceFigures, tuple[Any, ...]]]) -> dict[str, _Kept]:
        """Each service's lines per family: one `generate_latest` per family for all of
        them, cut where each service's samples end (one line per sample)."""
        if not changed:
            return {}
        prefixes: dict[str, list[list[bytes]]] = {row.slug: [] for row, _ in changed}
        lines: dict[str, list[bytes]] = {row.slug: [] for row, _ in changed}
        families, ends = service_families([row for row, _ in changed])
        for family, family_ends, header in zip(families, ends, self.headers):
            written = _exposition(family)[len(header) :].splitlines(keepends=True)
            if len(written) != len(family.samples):  # a format that is not a line a sample: do not cut
                raise RuntimeError(f"{family.name}: {len(written)} lines for {len(family.samples)} samples")
            start = 0
            for (row, _), end in zip(changed, family_ends):
                own = written[start:end]
                prefixes[row.slug].append([line[: line.rindex(b" ") + 1] for line in own])
                lines[row.slug].append(b"".join(own))
                start = end
        self.formatted += len(changed)
        return {row.slug: _Kept(key, prefixes[row.slug], lines[row.slug]) for row, key in changed}

    def _refill(self, changed: list[tuple[ServiceFigures, tuple[Any, ...]]]) -> dict[str, _Kept]:
        """Services formatted before, with new values in their kept lines; one whose
        samples no longer match its lines in number is left out (formatted whole)."""
        if not changed:
            return {}
        values = {
            row.slug: [[floatToGoString(value).encode() for value in family] for family in service_values(row)]
            for row, _ in changed
        }
        refilled = {}
        for row, key in changed:
            prefixes = self._kept[row.slug].prefixes
            if [len(p) for p in prefixes] != [len(v) for v in values[row.slug]]:
                continue
            lines = [
                b"".join([prefix + value + b"\n" for prefix, value in zip(family_prefixes, family_values)])
                for family_prefixes, family_values in zip(prefixes, values[row.slug])
            ]
            refilled[row.slug] = _Kept(key, prefixes, lines)
        self.refilled += len(refilled)
        return refilled


class _Only:
    """A registry of the given families, as `generate_latest` reads one."""

    def __init__(self, *families: Metric) -> None:
        self.families = families

    def collect(self) -> tuple[Metric, ...]:
        return self.families


def _exposition(*families: Metric) -> bytes:
    return generate_latest(_Only(*families))


class DatabaseFigures:
    """What a scrape reads from the database: each service's figures, then the alert
    and runner families (a few samples, formatted every time)."""

    def __init__(self, session: Session, engine: Any, past_days: PastDayTotals) -> None:
        self.session = session
        self.engine = engine
        self.past_days = past_days

    def services(self) -> list[ServiceFigures]:
        services = self.session.execute(
            select(Service.id, Service.slug, ServiceState.last_status)
            .outerjoin(ServiceState)
            .where(Service.hidden.is_(False))
        ).all()
        slugs = {service_id: slug for service_id, slug, _ in services}
        settled = day_bucket(utcnow()) - timedelta(days=1)  # a result of 23:59 may still be written after midnight
        totals = self.past_days.totals(settled, lambda: self._sums(slugs, before=settled))
        for service_id, recent in self._sums(slugs, since=settled).items():
            totals.setdefault(service_id, RollupTotals()).merge(recent)
        return [
            ServiceFigures(slug, last, totals.get(service_id) or RollupTotals()) for service_id, slug, last in services
        ]

    def _sums(
        self, slugs: dict[int, str], *, before: datetime | None = None, since: datetime | None = None
    ) -> dict[int, RollupTotals]:
        """Each service's daily rollups added up in SQL, over the days before `before`
        or since `since`."""
        query = (
            select(
                RollupDaily.service_id,
                func.max(RollupDaily.latency_max_ms).label("latency_max_ms"),
                *(func.coalesce(func.sum(getattr(RollupDaily, name)), 0).label(name) for name in SUMMED_COLUMNS),
            )
            .where(RollupDaily.service_id.in_(slugs))
            .group_by(RollupDaily.service_id)
        )
        if before is not None:
            query = query.where(RollupDaily.bucket < before)
        if since is not None:
            query = query.where(RollupDaily.bucket >= since)
        return {row.service_id: RollupTotals.from_columns(row) for row in self.session.execute(query)}

    def others(self) -> list[Metric]:
        sent = CounterMetricFamily("statuscore_alerts_sent", "Alerts a sink accepted", labels=["sink"])
        failed = CounterMetricFamily("statuscore_alerts_failed", "Failed delivery attempts", labels=["sink"])
        rows = self.session.execute(
            select(
                AlertOutbox.sink, func.count(AlertOutbox.delivered_at), func.coalesce(func.sum(AlertOutbox.attempts), 0)
            ).group_by(AlertOutbox.sink)
        ).all()
        for sink, delivered, attempts in rows:
            sent.add_metric([sink], delivered)
            failed.add_metric([sink], attempts)
        backlog = GaugeMetricFamily("statuscore_alert_outbox_backlog", "Alerts waiting for delivery")
        backlog.add_metric(
            [],
            self.session.scalar(select(func.count()).select_from(AlertOutbox).where(AlertOutbox.delivered_at.is_(None)))
            or 0,
        )
        age = heartbeat_age(self.engine)
        heartbeat = GaugeMetricFamily(
            "statuscore_runner_heartbeat_age_seconds", "Seconds since the runner's last heartbeat (NaN: never)"
        )
        heartbeat.add_metric([], float("nan") if age is None else age)
        return [sent, failed, backlog, heartbeat]


def scrape(figures: DatabaseFigures, lines: ServiceLines) -> bytes:
    """The whole exposition: the services' families (their unchanged lines kept), then the rest."""
    return lines.exposition(figures.services()) + _exposition(*figures.others())


class PastDayTotals:
    """Every service's sums over the days that no longer change, kept by the app until
    the day moves on, so a scrape adds up two days of rows, not ten years of them (the
    first scrape of a day in each process pays for the long sum once)."""

    def __init__(self) -> None:
        self._kept: tuple[datetime, dict[int, RollupTotals]] | None = None
        self._lock = threading.Lock()

    def totals(self, before: datetime, compute: Callable[[], dict[int, RollupTotals]]) -> dict[int, RollupTotals]:
        """A copy of the sums of the days before `before` (computed when not kept)."""
        with self._lock:
            if self._kept is None or self._kept[0] != before:
                self._kept = (before, compute())
            kept = self._kept[1]
        return {service_id: replace(total, histogram=list(total.histogram)) for service_id, total in kept.items()}


class ScrapeCache:
    """The last exposition for `seconds`: scrapes in between cost nothing."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._body = b""
        self._expires = 0.0
        self._lock = threading.Lock()

    def get(self, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            if time.monotonic() >= self._expires:
                self._body = render()
                self._expires = time.monotonic() + self.seconds
            return self._body


@view_config(route_name="metrics", request_method=READ_METHODS)
def metrics(request: Request) -> Response:
    settings = request.settings
    if settings.metrics_token:
        sent = request.headers.get("Authorization", "")
        expected = f"Bearer {settings.metrics_token}"
        if not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("utf-8")):
            return Response(
                "401 Unauthorized: send Authorization: Bearer $STATUSWEB_METRICS_TOKEN\n",
                status=401,
                content_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    elif not settings.metrics_public:
        raise HTTPNotFound()  # production without a token: not served, not even admitted to

    def render() -> bytes:
        figures = DatabaseFigures(request.dbsession, request.engine, request.registry["statusweb.metrics_past_days"])
        return scrape(figures, request.registry["statusweb.metrics_lines"])

    response = Response(request.registry["statusweb.metrics_cache"].get(render))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.cache_control = "no-store"
    return response


def includeme(config: Any) -> None:
    config.registry["statusweb.metrics_past_days"] = PastDayTotals()
    config.registry["statusweb.metrics_lines"] = ServiceLines()
    config.registry["statusweb.metrics_cache"] = ScrapeCache(
        config.registry["statusweb.settings"].metrics_cache_seconds
    )
