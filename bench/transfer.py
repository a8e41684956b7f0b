"""statusweb-admin export and import over a long history: N hourly rollups (50 services)
and 2,000 incidents, on SQLite and PostgreSQL. Export is timed against the least any
export could do in the same run (the same rows SELECTed and written as JSON lines);
import against the rows inserted raw (executemany, 1,000 a statement) into an empty
database. The RSS each adds says whether they stream: it must not grow with the rows.

    .venv/bin/python bench/transfer.py [--rows 200000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import figure, fresh_pg_database, heading, rss_mb
from sqlalchemy import insert, select, text

from statusweb.migrations import upgrade  # noqa: E402
from statusweb.models import (  # noqa: E402
    Incident,
    IncidentUpdate,
    RollupHourly,
    Service,
    get_engine,
    get_session_factory,
)
from statusweb.transfer.export import export  # noqa: E402
from statusweb.transfer.load import import_file  # noqa: E402
from statusweb.transfer.shape import dump_value  # noqa: E402

SERVICES = 50
INCIDENTS = 2000
BATCH = 1000
T0 = datetime(2020, 1, 1, tzinfo=UTC)


def rollup_rows(services: list[int], rows: int) -> list[dict]:
    hours = rows // len(services)
    return [
        {
            "service_id": s,
            "bucket": T0 + timedelta(hours=h),
            "up_count": 60,
            "latency_count": 60,
            "latency_sum_ms": 6000 + h % 100,
            "latency_max_ms": 300,
            "latency_le_100": 50,
            "latency_le_300": 10,
        }
        for s in services
        for h in range(hours)
    ]


def database(kind: str, name: str, folder: Path) -> str:
    url = f"sqlite:///{folder / name}.sqlite" if kind == "sqlite" else fresh_pg_database(f"statusweb_bench_{name}")
    engine = get_engine(url)
    upgrade(engine)
    with engine.begin() as connection:  # the schema's placeholders out: a truly empty database
        for table in ("page", "organization"):
            connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    return url


def fill(url: str, rows: int) -> tuple[list[dict], float]:
    """The history, and the seconds its raw INSERTs took (the import's baseline)."""
    engine = get_engine(url)
    now = datetime.now(UTC)
    with get_session_factory(engine).begin() as session:
        services = []
        for n in range(SERVICES):
            service = Service(slug=f"s{n}", name=f"Service {n}", type="http", created_at=now, updated_at=now)
            session.add(service)
            session.flush()
            services.append(service.id)
        for n in range(INCIDENTS):
            at = T0 + timedelta(hours=7 * n)
            incident = Incident(
                title=f"Incident {n}",
                impact="minor",
                status="resolved",
                created_at=at,
                updated_at=at,
                resolved_at=at + timedelta(hours=1),
                deleted=False,
            )
            incident.updates = [
                IncidentUpdate(status=s, body="x" * 200, created_at=at + timedelta(minutes=i), author="ops")
                for i, s in enumerate(("investigating", "resolved"))
            ]
            session.add(incident)
    made = rollup_rows(services, rows)
    started = time.perf_counter()
    with engine.begin() as connection:
        for start in range(0, len(made), BATCH):
            connection.execute(insert(RollupHourly), made[start : start + BATCH])
    seconds = time.perf_counter() - started
    engine.dispose()
    return made, seconds


def raw_export(url: str, path: Path) -> float:
    """The floor: every rollup SELECTed in batches and written as one JSON line each."""
    engine = get_engine(url)
    started = time.perf_counter()
    columns = [c for c in RollupHourly.__table__.columns]
    with engine.connect() as connection, path.open("w") as out:
        result = connection.execution_options(yield_per=BATCH).execute(select(*columns).order_by(*columns[:2]))
        for row in result:
            out.write(json.dumps({c.name: dump_value(v) for c, v in zip(columns, row)}) + ",\n")
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def timed_export(url: str, path: Path) -> tuple[float, float]:
    engine = get_engine(url)
    before = rss_mb()
    started = time.perf_counter()
    with get_session_factory(engine)() as session, path.open("w") as out:
        export(session, out, with_secrets=False)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, rss_mb() - before


def timed_import(url: str, path: Path) -> tuple[float, float, int]:
    engine = get_engine(url)
    before = rss_mb()
    started = time.perf_counter()
    report = import_file(get_session_factory(engine), path)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, rss_mb() - before, sum(report.added.values())


def run(kind: str, rows: int, folder: Path) -> None:
    heading(f"{kind}: {rows:,} hourly rollups of {SERVICES} services, {INCIDENTS:,} incidents")
    source = database(kind, "transfer_source", folder)
    made, raw_insert = fill(source, rows)
    raw = raw_export(source, folder / "raw.jsonl")
    exported, export_rss = timed_export(source, folder / "export.json")
    size = (folder / "export.json").stat().st_size / 2**20
    figure("export: seconds (raw SELECT + JSON lines)", f"{exported:.1f} ({raw:.1f})", f"ratio {raw / exported:.2f}")
    figure("export: rows/s", f"{len(made) / exported:,.0f}")
    figure("export: file size, RSS added", f"{size:.0f} MB, {export_rss:.0f} MB", "RSS flat as rows grow")
    target = database(kind, "transfer_target", folder)
    imported, import_rss, added = timed_import(target, folder / "export.json")
    figure(
        "import: seconds (raw executemany INSERT)",
        f"{imported:.1f} ({raw_insert:.1f})",
        f"ratio {raw_insert / imported:.2f}",
    )
    figure("import: rows/s, rows added", f"{added / imported:,.0f}, {added:,}")
    figure("import: RSS added", f"{import_rss:.0f} MB", "the rollup buckets known, per service")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="hourly rollups (default 200,000)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if not 1_000 <= args.rows <= 5_000_000:
        parser.error("--rows: 1,000 to 5,000,000")
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("sqlite", "postgresql"):
            if args.only in (None, kind):
                run(kind, args.rows, Path(folder))


if __name__ == "__main__":
    main()
