"""SqlStore under load: results recorded at 2,000/s for 60 s on SQLite and PostgreSQL.
Prints commit (batch) latency, the largest backlog waiting for a commit, and rows/s.
(The 13-million-row history and 90-day uptime from rollups is bench/history.py.)

    .venv/bin/python bench/store.py [--rate 2000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import replace
from pathlib import Path

from common import ROOT, figure, fresh_pg_database, heading, percentile
from sqlalchemy import func, select

from statuscore import (  # noqa: E402
    CheckResult,
    MonitorState,
    Status,
    make_monitor,
    utcnow,  # noqa: E402
)
from statusweb.migrations import upgrade  # noqa: E402
from statusweb.models import CheckResultRow, get_engine  # noqa: E402
from statusweb.runner.sql_store import SqlStore  # noqa: E402

SERVICES = 2000


class TimedStore(SqlStore):
    """SqlStore that notes how long each batch took and how much it carried."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.batch_seconds: list[float] = []
        self.backlogs: list[int] = []

    async def flush(self) -> bool:
        self.backlogs.append(len(self.backlog.waiting.results))
        started = time.perf_counter()
        ok = await super().flush()
        self.batch_seconds.append(time.perf_counter() - started)
        return ok


async def load(engine, rate: int, seconds: float) -> None:  # type: ignore[no-untyped-def]
    store = TimedStore(engine, flush_interval=1.0)
    template = make_monitor(name="s", url="http://127.0.0.1:9/")
    monitors = [replace(template, name=f"s{i}", slug=f"s{i}") for i in range(SERVICES)]
    await asyncio.to_thread(store.sync_services, monitors)
    await store.load_states()
    sent = 0
    started = time.monotonic()
    state = MonitorState(status=Status.UP)
    while time.monotonic() - started < seconds:
        due = int((time.monotonic() - started) * rate)
        now = utcnow()
        while sent < due:
            slug = f"s{sent % SERVICES}"
            await store.record(
                CheckResult(monitor=slug, slug=slug, status=Status.UP, checked_at=now, latency=0.05, status_code=200),
                state,
                [],
                [],
            )
            sent += 1
        await asyncio.sleep(0.01)
    await store.close()
    elapsed = time.monotonic() - started
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(CheckResultRow)).scalar_one()
    batches = store.batch_seconds[:-1] or store.batch_seconds
    figure("results recorded / stored", f"{sent:,} / {stored:,}")
    figure("rows/s", f"{stored / elapsed:,.0f}", f"(offered {rate:,}/s)")
    figure("commits", f"{store.batches_written}", f"({store.batches_written / elapsed:.1f}/s)")
    figure("commit latency p50", f"{percentile(batches, 0.5) * 1000:.0f} ms")
    figure("commit latency p99", f"{percentile(batches, 0.99) * 1000:.0f} ms")
    figure("largest backlog at a commit", f"{max(store.backlogs):,} results")


def databases(seconds: float) -> list[tuple[str, str]]:
    postgresql = fresh_pg_database("statusweb_bench_store")
    sqlite = ROOT / "var" / "bench-store.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite}{suffix}").unlink(missing_ok=True)
    return [("SQLite", f"sqlite:///{sqlite}"), ("PostgreSQL", postgresql)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    for name, url in databases(args.seconds):
        heading(f"{name}: SqlStore at {args.rate:,} results/s for {args.seconds:.0f} s ({SERVICES:,} services)")
        engine = get_engine(url)
        upgrade(engine)
        asyncio.run(load(engine, args.rate, args.seconds))
        engine.dispose()


if __name__ == "__main__":
    main()
