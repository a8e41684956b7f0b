"""/metrics and the admin's check history at 10 years of history (issue 16, item 6).

Reuses history.py's databases (60 days x 150 services of raw results, which is what
retention keeps at any time) and adds daily rollups back to 10 years (547,500 rows in
all), then times, on PostgreSQL and SQLite:

- a /metrics scrape (the collector and the exposition, no HTTP): the first of the day,
  which adds up every past day once, and the ones after it;
- one page (50 rows) of the check-history admin for each filter it offers, newest
  first and the 1,000th page through the keyset, with each query's plan (EXPLAIN).

    .venv/bin/python bench/history.py             # once, to fill
    .venv/bin/python bench/admin_history.py [--only postgresql|sqlite] [--repeat 30]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import timedelta
from pathlib import Path

from common import figure, heading, history_database_url, needs_first, percentile
from history import NOW  # the databases history.py filled
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


from statuscore import utcnow  # noqa: E402
from statusweb.api.metrics import DatabaseFigures, PastDayTotals, ServiceLines, scrape  # noqa: E402
from statusweb.models import CheckResultRow, RollupDaily, get_engine, get_session_factory  # noqa: E402
from statusweb.models.rollups import day_bucket  # noqa: E402
from statusweb.pages.queries import CheckFilter, check_results, check_results_query  # noqa: E402

YEARS_DAYS = 3650
PAGE = 50


def extend_rollups(engine: Engine) -> None:
    """Daily rollups back to 10 years before history.py's NOW (once)."""
    with engine.begin() as connection:
        days = connection.scalar(text("SELECT COUNT(DISTINCT bucket) FROM rollup_daily"))
        if days >= YEARS_DAYS:
            return
        oldest = connection.scalar(text("SELECT MIN(bucket) FROM rollup_daily"))
        print(f"  adding daily rollups back to 10 years ({days} days there)...", flush=True)
        started = time.perf_counter()
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "INSERT INTO rollup_daily (service_id, bucket, up_count, degraded_count, down_count, "
                    "maintenance_count, latency_count, latency_sum_ms, latency_max_ms) "
                    "SELECT s.id, CAST(:oldest AS timestamptz) - make_interval(days => d), 1436, 0, 4, 0, 1436, "
                    "1436 * 150, 250 FROM service s, generate_series(1, :extra) AS d"
                ),
                {"oldest": oldest, "extra": YEARS_DAYS - days},
            )
        else:
            connection.execute(
                text(
                    "WITH RECURSIVE d(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM d WHERE n < :extra) "
                    "INSERT INTO rollup_daily (service_id, bucket, up_count, degraded_count, down_count, "
                    "maintenance_count, latency_count, latency_sum_ms, latency_max_ms) "
                    "SELECT s.id, strftime('%Y-%m-%d %H:%M:%f', :oldest, '-' || d.n || ' days'), 1436, 0, 4, 0, "
                    "1436, 1436 * 150, 250 FROM service s, d"
                ),
                {"oldest": str(oldest)[:26], "extra": YEARS_DAYS - days},
            )
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE rollup_daily"))


def time_metrics(engine: Engine, repeat: int) -> None:
    """Scrapes with nothing, a quarter and all of the services changed since the one
    before (checks every 60 s and a scrape every 15 s change about a quarter); today's
    rollup rows are added for the changes and removed afterwards."""
    past_days, lines = PastDayTotals(), ServiceLines()
    today = day_bucket(utcnow())
    with engine.begin() as connection:
        ids = list(connection.scalars(text("SELECT id FROM service ORDER BY id")))
        connection.execute(
            RollupDaily.__table__.insert(),
            [
                {"service_id": id_, "bucket": today, "up_count": 1, "latency_count": 1, "latency_sum_ms": 100}
                for id_ in ids
            ],
        )
    try:
        first, body = timed_scrape(engine, past_days, lines)
        figure("/metrics, first scrape of the day", f"{first * 1000:.1f} ms", f"({len(body):,} bytes)")
        gc.freeze()  # as the server does once started: what start-up built is never collected again
        for label, share in (("nothing changed", 0.0), ("a quarter changed", 0.25), ("every service changed", 1.0)):
            timings, formatted, refilled = [], lines.formatted, lines.refilled
            for round_ in range(repeat):
                if share:
                    count = max(1, round(len(ids) * share))
                    changed = [ids[(round_ * count + n) % len(ids)] for n in range(count)]
                    with engine.begin() as connection:
                        connection.execute(
                            update(RollupDaily)
                            .where(RollupDaily.bucket == today, RollupDaily.service_id.in_(changed))
                            .values(up_count=RollupDaily.up_count + 1)
                        )
                timings.append(timed_scrape(engine, past_days, lines)[0])
            figure(
                f"/metrics, {label}: p50 / p99",
                f"{percentile(timings, 0.5) * 1000:.1f} / {percentile(timings, 0.99) * 1000:.1f} ms",
                f"(a scrape: {(lines.formatted - formatted) / repeat:.0f} services formatted whole, "
                f"{(lines.refilled - refilled) / repeat:.0f} given new values; goal < 50 ms)",
            )
    finally:
        with engine.begin() as connection:
            connection.execute(delete(RollupDaily).where(RollupDaily.bucket == today))


def timed_scrape(engine: Engine, past_days: PastDayTotals, lines: ServiceLines) -> tuple[float, bytes]:
    """One scrape as the view makes it (database reads and the exposition), no HTTP."""
    started = time.perf_counter()
    with get_session_factory(engine)() as session:
        body = scrape(DatabaseFigures(session, engine, past_days), lines)
    return time.perf_counter() - started, body


def filters(engine: Engine) -> dict[str, CheckFilter]:
    with get_session_factory(engine)() as session:
        newest = session.scalar(select(func.max(CheckResultRow.id)))
    day = NOW - timedelta(days=30)
    return {
        "no filter": CheckFilter(),
        "one service": CheckFilter(service_id=75),
        "status down": CheckFilter(status="down"),
        "one service, down": CheckFilter(service_id=75, status="down"),
        "one day, 30 days back": CheckFilter(since=day, until=day + timedelta(days=1)),
        "one service, one day back": CheckFilter(service_id=75, since=day, until=day + timedelta(days=1)),
        "page 1,000 (keyset)": CheckFilter(before=newest - 1000 * PAGE),
        "one service, down, page 20": CheckFilter(service_id=75, status="down", before=newest // 2),
    }


def time_history(engine: Engine, repeat: int, plans: bool) -> None:
    for label, narrowed in filters(engine).items():
        timings = []
        with get_session_factory(engine)() as session:
            for _ in range(repeat):
                started = time.perf_counter()
                rows = check_results(session, narrowed, PAGE)
                timings.append(time.perf_counter() - started)
        figure(
            f"history: {label}", f"p99 {percentile(timings, 0.99) * 1000:.1f} ms", f"({len(rows)} rows; goal < 100 ms)"
        )
        if plans:
            print(plan(engine, narrowed), flush=True)


def plan(engine: Engine, narrowed: CheckFilter) -> str:
    """The database's plan for the check-history query with `narrowed`."""
    with get_session_factory(engine)() as session:
        query = check_results_query(session, narrowed, PAGE)
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.execute(text(explain + sql)).all()
    return "\n".join(f"      {row[-1]}" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-plans", action="store_true")
    args = parser.parse_args()
    engines = []
    if args.only != "sqlite":
        engines.append(("PostgreSQL", get_engine(history_database_url())))
    if args.only != "postgresql":
        path = Path(__file__).resolve().parents[1] / "var" / "bench-history.sqlite"
        if not path.exists():
            needs_first(f"{path} is missing: run `.venv/bin/python bench/history.py` first (it fills it)")
        engines.append(("SQLite", get_engine(f"sqlite:///{path}")))
    for name, engine in engines:
        heading(f"{name}: 10 years of daily rollups, 60 days of raw results")
        extend_rollups(engine)
        time_metrics(engine, args.repeat)
        time_history(engine, args.repeat, not args.no_plans)


if __name__ == "__main__":
    main()
