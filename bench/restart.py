"""kill -9 and restart: 10,000 monitors at 60 s, the runner (`statusweb-admin
run-checks`) on PostgreSQL. After SIGKILL and a restart, how long until every monitor
has been checked again, how evenly spread, and the CPU per check including persistence.

    .venv/bin/python bench/restart.py [--monitors 10000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import CLIENT_CORE, ROOT, cpu_seconds, figure, fresh_pg_database, heading, percentile, pin, target_server
from sqlalchemy import func, select

from statusweb.migrations import upgrade  # noqa: E402
from statusweb.models import CheckResultRow, ServiceState, get_engine  # noqa: E402

DATABASE = "statusweb_bench_restart"


def start_runner(ini: Path, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "statusweb.cli", "run-checks", str(ini)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    pin(process.pid, CLIENT_CORE)
    return process


def checked_since(engine, moment) -> tuple[int, list]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        times = (
            connection.execute(select(ServiceState.last_checked_at).where(ServiceState.last_checked_at >= moment))
            .scalars()
            .all()
        )
    return len(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    args = parser.parse_args()
    count = args.monitors
    heading(f"kill -9 and restart: {count:,} monitors at 60 s, SqlStore on PostgreSQL")
    url = fresh_pg_database(DATABASE)
    engine = get_engine(url)
    upgrade(engine)
    work = Path("/tmp/statusweb-bench-restart")
    work.mkdir(exist_ok=True)
    with target_server() as (base, kind):
        monitors = work / "monitors.toml"
        monitors.write_text(
            '[defaults]\ninterval = "60s"\ntimeout = "5s"\nretries = 1\n'
            + "".join(f'[[monitor]]\nname = "m{i}"\nurl = "{base}/ok"\n' for i in range(count))
        )
        ini = work / "runner.ini"
        ini.write_text(
            f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {url}\n"
            f"statuscore.monitors = {monitors}\nstatusweb.heartbeat_interval = 10\n"
        )
        log = work / "runner.log"
        first = start_runner(ini, log)
        print("  first runner: waiting for a full round (up to 70 s)...", flush=True)
        started = time.monotonic()
        from statuscore import utcnow

        epoch = utcnow()
        while checked_since(engine, epoch)[0] < count and time.monotonic() - started < 120:
            time.sleep(1)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = utcnow()
        print(f"  SIGKILL after {time.monotonic() - started:.0f} s; restarting", flush=True)
        restarted = time.monotonic()
        second = start_runner(ini, log)
        while checked_since(engine, killed_at)[0] == 0 and time.monotonic() - restarted < 60:
            time.sleep(0.2)  # start-up: config, services, states; CPU is counted from here
        cpu_start, steady_from = cpu_seconds(second.pid), utcnow()
        loop_start = cpu_seconds(second.pid, tid=second.pid)
        if os.environ.get("BENCH_PROFILE"):  # py-spy's view of the restarted runner (raw, for flame graphs)
            subprocess.Popen(
                [
                    os.environ["BENCH_PROFILE"],
                    "record",
                    "--pid",
                    str(second.pid),
                    "--output",
                    str(work / "runner-profile.txt"),
                    "--format",
                    "raw",
                    "--duration",
                    "30",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        figure("start-up (kill to first re-check)", f"{time.monotonic() - restarted:.1f} s")
        done_at = None
        while time.monotonic() - restarted < 130:
            checked, times = checked_since(engine, killed_at)
            if checked >= count and done_at is None:
                done_at = time.monotonic() - restarted
                break
            time.sleep(0.5)
        time.sleep(5)
        cpu_used = cpu_seconds(second.pid) - cpu_start
        loop_used = cpu_seconds(second.pid, tid=second.pid) - loop_start
        with engine.connect() as connection:
            rows = connection.execute(
                select(func.count()).select_from(CheckResultRow).where(CheckResultRow.checked_at >= steady_from)
            ).scalar_one()
        second.send_signal(signal.SIGTERM)
        second.wait(60)
    offsets = sorted((t - killed_at).total_seconds() for t in times)
    figure(
        "every monitor checked again by",
        f"{offsets[-1]:.1f} s" if done_at else "not within 130 s",
        "(the last re-check's own time; goal <= 30 s: half the interval, from the kill)",
    )
    figure(
        "every re-check seen written",
        f"{done_at:.1f} s" if done_at else "not within 130 s",
        "(results are written once a second, polled every 0.5 s)",
    )
    for q in (0.1, 0.5, 0.9):
        figure(
            f"first re-check, {int(q * 100)}th percentile",
            f"{percentile(offsets, q):.1f} s",
            f"(even spread: ~{30 * q:.0f} s)",
        )
    figure("checks recorded once running", f"{rows:,}")
    figure(
        "runner CPU per check, persistence included", f"{1000 * cpu_used / max(rows, 1):.3f} ms", "(goal <= 0.35 ms)"
    )
    figure(
        "  of it in the event loop (checks, scheduler)",
        f"{1000 * loop_used / max(rows, 1):.3f} ms",
        "(the rest: the threads that write batches and do the runner's duties)",
    )
    engine.dispose()


if __name__ == "__main__":
    main()
