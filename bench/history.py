"""The 13-million-row history: 90-day uptime from rollups vs from raw rows.

Fills 60 days x 150 services x one check a minute (12.96 M raw rows; retention keeps 60
days) plus 90 days of daily rollups (and 60 of hourly) into PostgreSQL and SQLite, then
times the status page's question, "what is every service's 90-day uptime?", answered
from the daily rollups and from the raw rows, in the same run.

    .venv/bin/python bench/history.py [--services 150] [--days 60] [--skip-fill]

PostgreSQL: STATUS_BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test;
a database `statusweb_bench`, or STATUS_BENCH_HISTORY_DATABASE, is created there).
SQLite: var/bench-history.sqlite.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import HISTORY_DATABASE, PG_URL  # noqa: E402

from statusweb.migrations import upgrade  # noqa: E402
from statusweb.models import get_engine  # noqa: E402

NOW = datetime(2026, 11, 1, tzinfo=UTC)
ROLLUP_DAYS = 90

UPTIME_FROM_ROLLUPS = """
SELECT service_id, SUM(up_count + degraded_count) AS good, SUM(down_count) AS bad
FROM rollup_daily WHERE bucket >= :since GROUP BY service_id"""
UPTIME_FROM_RAW = """
SELECT service_id, SUM(CASE WHEN status IN ('up', 'degraded') THEN 1 ELSE 0 END) AS good,
       SUM(CASE WHEN status = 'down' THEN 1 ELSE 0 END) AS bad
FROM check_result WHERE checked_at >= :since GROUP BY service_id"""


def progress(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(f"\r  {label}: {done:,}/{total:,} rows ({100 * done / total:.0f}%, {rate:,.0f} rows/s)", end="", flush=True)


def raw_rows(services: int, days: int):
    """(service_id, checked_at, status, latency_ms) for every minute; ~0.3% down."""
    rng = random.Random(42)
    start = NOW - timedelta(days=days)
    for minute in range(days * 1440):
        at = start + timedelta(minutes=minute)
        for service_id in range(1, services + 1):
            down = rng.random() < 0.003
            yield service_id, at, "down" if down else "up", 5000 if down else 50 + rng.randrange(200)


def create_services(engine: Engine, services: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO service (id, slug, name, type, position, group_name, description, hidden, "
                "created_at, updated_at) VALUES (:id, :slug, :name, 'http', :id, '', '', false, :now, :now)"
            ),
            [
                {
                    "id": i,
                    "slug": f"service-{i}",
                    "name": f"Service {i}",
                    "now": NOW if engine.dialect.name != "sqlite" else NOW.replace(tzinfo=None),
                }
                for i in range(1, services + 1)
            ],
        )


@contextlib.contextmanager
def raw_load(engine: Engine, total: int) -> Iterator[tuple[object, Callable[[int], None]]]:
    """A raw DBAPI connection for a bulk load, committed at the end, with a progress
    line every 500,000 rows; sets `raw_load.seconds`."""
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        yield raw, lambda done: done % 500_000 == 0 and progress("check_result", done, total, started)
        raw.commit()
    finally:
        raw.close()
    progress("check_result", total, total, started)
    print()
    raw_load.seconds = time.perf_counter() - started  # type: ignore[attr-defined]


def fill_postgresql(engine: Engine, services: int, days: int) -> float:
    with raw_load(engine, services * days * 1440) as (raw, report):
        with raw.cursor() as cursor:  # type: ignore[attr-defined]
            with cursor.copy(
                "COPY check_result (service_id, checked_at, status, latency_ms, status_code, attempts) FROM STDIN"
            ) as copy:
                for done, (service_id, at, status, latency) in enumerate(raw_rows(services, days), 1):
                    copy.write_row((service_id, at, status, latency, 200 if status == "up" else 503, 1))
                    report(done)
    return raw_load.seconds  # type: ignore[attr-defined]


def fill_sqlite(engine: Engine, services: int, days: int) -> float:
    insert = (
        "INSERT INTO check_result (service_id, checked_at, status, latency_ms, status_code, "
        "attempts) VALUES (?, ?, ?, ?, ?, 1)"
    )
    with raw_load(engine, services * days * 1440) as (raw, report):
        cursor = raw.cursor()  # type: ignore[attr-defined]
        batch = []
        for done, (service_id, at, status, latency) in enumerate(raw_rows(services, days), 1):
            batch.append(
                (service_id, at.replace(tzinfo=None).isoformat(" "), status, latency, 200 if status == "up" else 503)
            )
            if len(batch) == 100_000:
                cursor.executemany(insert, batch)
                batch.clear()
            report(done)
        cursor.executemany(insert, batch)
    return raw_load.seconds  # type: ignore[attr-defined]


def fill_rollups(engine: Engine, services: int) -> None:
    """Daily rollups for 90 days (the 30 oldest as if their raw rows were cleaned up),
    hourly for the raw period, computed from the raw rows the way the store keeps them."""
    sqlite = engine.dialect.name == "sqlite"
    day = "strftime('%Y-%m-%d 00:00:00.000000', checked_at)" if sqlite else "date_trunc('day', checked_at)"
    hour = "strftime('%Y-%m-%d %H:00:00.000000', checked_at)" if sqlite else "date_trunc('hour', checked_at)"
    columns = (
        "service_id, bucket, up_count, degraded_count, down_count, maintenance_count, "
        "latency_count, latency_sum_ms, latency_max_ms"
    )
    select = (
        "SELECT service_id, {bucket}, SUM(CASE WHEN status = 'up' THEN 1 ELSE 0 END), 0, "
        "SUM(CASE WHEN status = 'down' THEN 1 ELSE 0 END), 0, "
        "SUM(CASE WHEN status = 'up' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'up' THEN latency_ms ELSE 0 END), MAX(latency_ms) "
        "FROM check_result GROUP BY service_id, {bucket}"
    )
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO rollup_daily ({columns}) {select.format(bucket=day)}"))
        connection.execute(text(f"INSERT INTO rollup_hourly ({columns}) {select.format(bucket=hour)}"))
        oldest = connection.execute(text("SELECT MIN(bucket) FROM rollup_daily")).scalar_one()
        if isinstance(oldest, str):
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
        extra = [
            {
                "service_id": s,
                "bucket": (oldest - timedelta(days=d))
                if not sqlite
                else (oldest - timedelta(days=d)).replace(tzinfo=None).isoformat(" ", "microseconds"),
                "up": 1436,
                "down": 4,
            }
            for s in range(1, services + 1)
            for d in range(1, ROLLUP_DAYS - 59)
        ]
        connection.execute(
            text(
                f"INSERT INTO rollup_daily ({columns}) VALUES (:service_id, :bucket, :up, 0, :down, 0, :up, "
                f":up * 150, 250)"
            ),
            extra,
        )
    print(f"  rollups built in {time.perf_counter() - started:.1f} s")


def time_query(engine: Engine, sql: str, since: datetime, repeat: int) -> tuple[float, int]:
    value = since if engine.dialect.name != "sqlite" else since.replace(tzinfo=None).isoformat(" ")
    timings, rows = [], 0
    with engine.connect() as connection:
        for _ in range(repeat):
            started = time.perf_counter()
            rows = len(connection.execute(text(sql), {"since": value}).all())
            timings.append(time.perf_counter() - started)
    return statistics.median(timings), rows


def bench(name: str, engine: Engine, services: int, days: int, skip_fill: bool) -> dict[str, float]:
    print(f"{name}:")
    if not skip_fill:
        upgrade(engine)
        create_services(engine, services)
        fill = fill_postgresql if engine.dialect.name == "postgresql" else fill_sqlite
        seconds = fill(engine, services, days)
        print(f"  filled {services * days * 1440:,} rows in {seconds:.0f} s")
        fill_rollups(engine, services)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
    since = NOW - timedelta(days=ROLLUP_DAYS)
    rollup_s, rollup_rows = time_query(engine, UPTIME_FROM_ROLLUPS, since, repeat=9)
    raw_s, raw_rows_seen = time_query(engine, UPTIME_FROM_RAW, since, repeat=3)
    print(f"  90-day uptime of {rollup_rows} services from rollups: {rollup_s * 1000:8.1f} ms  (goal < 50 ms)")
    print(f"  90-day uptime of {raw_rows_seen} services from raw rows: {raw_s * 1000:8.1f} ms")
    print(f"  ratio raw / rollups: {raw_s / rollup_s:,.0f}x")
    return {"rollups_ms": rollup_s * 1000, "raw_ms": raw_s * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=150)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--skip-fill", action="store_true", help="reuse the databases of a previous run")
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    args = parser.parse_args()
    if args.only != "sqlite":
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            if not args.skip_fill:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{HISTORY_DATABASE}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{HISTORY_DATABASE}"'))
        admin.dispose()
        url = make_url(PG_URL).set(database=HISTORY_DATABASE).render_as_string(hide_password=False)
        bench("PostgreSQL", get_engine(url), args.services, args.days, args.skip_fill)
    if args.only != "postgresql":
        path = Path(__file__).resolve().parents[1] / "var" / "bench-history.sqlite"
        if not args.skip_fill:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        bench("SQLite", get_engine(f"sqlite:///{path}"), args.services, args.days, args.skip_fill)


if __name__ == "__main__":
    main()
