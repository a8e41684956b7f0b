"""Runners sharing one PostgreSQL: N `statusweb-admin run-checks` processes (default 4)
against 200,000 monitors at 60 s on local targets, compared with one runner in the same
run. Prints checks/s kept, the gap between a monitor's checks over its interval (p99: the
schedule lag as the database sees it), the failover after kill -9 (how long until the
killed runner's monitors are checked again) and what the leases cost the database per check.

    .venv/bin/python bench/cluster.py [--monitors 200000] [--runners 4] [--window 150] [--interval 60]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from common import PG_URL, ROOT, cpu_seconds, figure, fresh_pg_database, heading, percentile, target_servers
from sqlalchemy import func, make_url, select, text

from statuscore import utcnow  # noqa: E402
from statusweb.migrations import upgrade  # noqa: E402
from statusweb.models import CheckResultRow, MonitorLease, get_engine  # noqa: E402
from statusweb.pages.queries import members  # noqa: E402
from statusweb.runner.leases import LeaseBook  # noqa: E402

DATABASE = "statusweb_bench_cluster"
INTERVAL = 60.0
HEARTBEAT = 5.0
WORK = Path("/tmp/statusweb-bench-cluster")


def write_config(url: str, bases: list[str], count: int) -> Path:
    monitors = WORK / "monitors.toml"
    monitors.write_text(
        f'[defaults]\ninterval = "{INTERVAL:g}s"\ntimeout = "5s"\nretries = 0\n'
        + "".join(f'[[monitor]]\nname = "m{i}"\nurl = "{bases[i % len(bases)]}/ok"\n' for i in range(count))
    )
    ini = WORK / "runner.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {url}\n"
        f"statuscore.monitors = {monitors}\nstatusweb.heartbeat_interval = {HEARTBEAT:g}\n"
    )
    return ini


def start_runners(ini: Path, count: int, label: str) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "statusweb.cli", "run-checks", str(ini)],
            stdout=(WORK / f"{label}-{n}.log").open("ab"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        for n in range(count)
    ]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            process.kill()


def rows_between(engine, start, end) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(
            select(func.count())
            .select_from(CheckResultRow)
            .where(CheckResultRow.checked_at >= start, CheckResultRow.checked_at < end)
        ).scalar_one()


def wait_for_rows(engine, since, wanted: int, limit: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds until `wanted` results were recorded after `since` (printing progress)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        done = rows_between(engine, since, utcnow() + timedelta(days=1))
        print(f"\r  {what}: {done:,} of {wanted:,} checks recorded", end="", flush=True)
        if done >= wanted:
            print(flush=True)
            return time.monotonic() - started
        time.sleep(2)
    print(" (gave up waiting)", flush=True)
    return float("nan")


def gaps_over_interval(engine, start, end) -> list[float]:  # type: ignore[no-untyped-def]
    """For every pair of consecutive results of a monitor inside the window: how much
    later than one interval the second came."""
    with engine.connect() as connection:
        rows = (
            connection.execute(
                text(
                    "SELECT EXTRACT(EPOCH FROM checked_at - lag(checked_at) OVER (PARTITION BY service_id "
                    "ORDER BY checked_at)) FROM check_result WHERE checked_at >= :s AND checked_at < :e"
                ),
                {"s": start, "e": end},
            )
            .scalars()
            .all()
        )
    return [max(0.0, float(gap) - INTERVAL) for gap in rows if gap is not None]


def measure(engine, processes: list[subprocess.Popen], count: int, window: float, label: str) -> dict:  # type: ignore[no-untyped-def]
    since = utcnow()
    ready = wait_for_rows(engine, since, count, 600, f"{label}: first full round")
    cpu_before = sum(cpu_seconds(p.pid) for p in processes)
    start = utcnow()
    print(f"  {label}: measuring {window:.0f} s...", flush=True)
    time.sleep(window)
    end = utcnow()
    cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu_before
    time.sleep(3)  # results checked inside the window but still in a runner's batch (written each second)
    rows = rows_between(engine, start, end)
    gaps = gaps_over_interval(engine, start, end)
    return {
        "ready": ready,
        "rate": rows / window,
        "rows": rows,
        "cpu_ms": 1000 * cpu / max(rows, 1),
        "gap_p50": percentile(gaps, 0.5),
        "gap_p99": percentile(gaps, 0.99),
    }


def failover(engine, processes: list[subprocess.Popen]) -> dict:  # type: ignore[no-untyped-def]
    """kill -9 one runner; seconds until its monitors are checked again (first, median, 99%)."""
    victim = processes[0]
    member = next(m["id"] for m in members(engine) if m["id"].split(":")[1] == str(victim.pid))
    with engine.connect() as connection:
        theirs = set(connection.execute(select(MonitorLease.service_id).where(MonitorLease.holder == member)).scalars())
    victim.kill()
    victim.wait()
    killed = utcnow()
    print(f"  kill -9 of a runner holding {len(theirs):,} monitors; waiting for the others to check them", flush=True)
    deadline = time.monotonic() + 3 * INTERVAL + 4 * HEARTBEAT
    firsts: dict[int, float] = {}
    while time.monotonic() < deadline and len(firsts) < 0.99 * len(theirs):
        time.sleep(2)
        with engine.connect() as connection:
            found = connection.execute(
                select(CheckResultRow.service_id, func.min(CheckResultRow.checked_at))
                .where(CheckResultRow.checked_at > killed)
                .group_by(CheckResultRow.service_id)
            ).all()
        firsts = {sid: (at - killed).total_seconds() for sid, at in found if sid in theirs}
        print(f"\r  {len(firsts):,} of {len(theirs):,} checked again", end="", flush=True)
    print(flush=True)
    seconds = sorted(firsts.values())
    return {
        "monitors": len(theirs),
        "first": seconds[0] if seconds else float("nan"),
        "p50": percentile(seconds, 0.5),
        "p99": percentile(seconds, 0.99),
        "covered": len(seconds) / max(len(theirs), 1),
    }


def lease_costs(engine, runners: int, checks_per_second: float) -> dict:  # type: ignore[no-untyped-def]
    """A probe member (the runners stopped) beside `runners - 1` members that stay alive:
    claiming its share (10,000 a heartbeat), the heartbeat that moves nothing, and the
    fence of one second's batch of one runner's checks."""
    probe = LeaseBook(engine, ttl=2 * HEARTBEAT, member="bench-probe")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM runner_member"))
        connection.execute(text("UPDATE monitor_lease SET holder = NULL"))
        for n in range(runners - 1):  # alive for an hour: the probe's quota is its share
            connection.execute(
                text(
                    "INSERT INTO runner_member (id, region, started_at, beat_at, held, refused) "
                    "VALUES (:id, 'default', now(), now() + interval '1 hour', 0, 0)"
                ),
                {"id": f"bench-other-{n}"},
            )
        ids = list(connection.execute(select(MonitorLease.service_id)).scalars())
    probe.join(ids)
    claims = []
    while True:
        started = time.perf_counter()
        gained = len(probe.rebalance().gained)
        if not gained:
            break
        claims.append(time.perf_counter() - started)
    claim, claimed = sum(claims), len(probe.held)
    renewals = []
    for _ in range(5):
        started = time.perf_counter()
        probe.rebalance()
        renewals.append(time.perf_counter() - started)
    batch = max(1, round(checks_per_second / runners))  # one runner's one-second batch
    fences = []
    held = sorted(probe.held)
    for n in range(20):
        chunk = held[(n * batch) % len(held) :][:batch]
        with probe.session_factory.begin() as session:
            started = time.perf_counter()
            probe.fence(session, chunk)
            fences.append(time.perf_counter() - started)
    probe.leave()
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM runner_member WHERE id LIKE 'bench-other-%'"))
    renew, fence = percentile(renewals, 0.5), percentile(fences, 0.5)
    per_check = fence / batch + renew * runners / HEARTBEAT / max(checks_per_second, 1)
    return {
        "claimed": claimed,
        "claim_s": claim,
        "claim_beats": len(claims),
        "renew_ms": 1000 * renew,
        "batch": batch,
        "fence_ms": 1000 * fence,
        "per_check_us": 1e6 * per_check,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=200_000)
    parser.add_argument("--runners", type=int, default=4)
    parser.add_argument("--window", type=float, default=150.0, help="seconds measured in each setting")
    parser.add_argument("--interval", type=float, default=60.0, help="every monitor's interval (a quick try: 10)")
    parser.add_argument(
        "--leases-only",
        type=float,
        metavar="CHECKS_PER_S",
        default=0.0,
        help="only the lease costs, on the database a full run left, at this rate",
    )
    args = parser.parse_args()
    global INTERVAL
    INTERVAL = args.interval
    count, runners = args.monitors, args.runners
    if args.leases_only:
        engine = get_engine(make_url(PG_URL).set(database=DATABASE).render_as_string(hide_password=False))
        print_lease_costs(lease_costs(engine, runners, args.leases_only))
        return
    heading(
        f"runners sharing PostgreSQL: {count:,} monitors at {INTERVAL:.0f} s "
        f"(needs {count / INTERVAL:,.0f} checks/s), 1 runner vs {runners}"
    )
    WORK.mkdir(exist_ok=True)
    url = fresh_pg_database(DATABASE)
    engine = get_engine(url)
    upgrade(engine)
    with target_servers(8) as (bases, kind):
        print(f"  target: {kind} on {len(bases)} ports; logs in {WORK}", flush=True)
        ini = write_config(url, bases, count)
        one = start_runners(ini, 1, "one")
        try:
            alone = measure(engine, one, count, args.window, "1 runner")
        finally:
            stop(one)
        many = start_runners(ini, runners, "many")
        try:
            shared = measure(engine, many, count, args.window, f"{runners} runners")
            held = sorted(m["held"] for m in members(engine))
            moved = failover(engine, many)
        finally:
            stop(many)
    costs = lease_costs(engine, runners, shared["rate"])
    engine.dispose()
    needed = count / INTERVAL
    for label, figures in (("1 runner", alone), (f"{runners} runners", shared)):
        figure(f"{label}: checks/s kept", f"{figures['rate']:,.0f}", f"(needed {needed:,.0f})")
        figure(
            f"{label}: gap over the interval p50 / p99",
            f"{figures['gap_p50']:.1f} / {figures['gap_p99']:.1f} s",
            "(goal p99 < 1 s)",
        )
        figure(f"{label}: CPU per check (all runners)", f"{figures['cpu_ms']:.3f} ms")
        figure(f"{label}: start to first full round", f"{figures['ready']:.0f} s")
    figure(f"{runners} runners / 1 runner, checks/s", f"{shared['rate'] / max(alone['rate'], 1):.2f}")
    figure("leases held per runner", " / ".join(f"{h:,}" for h in held))
    figure("after kill -9: first of its monitors re-checked", f"{moved['first']:.1f} s")
    figure(
        "after kill -9: 50% / 99% re-checked",
        f"{moved['p50']:.1f} / {moved['p99']:.1f} s",
        f"(goal: within two intervals, {2 * INTERVAL:.0f} s; {moved['covered']:.0%} seen)",
    )
    print_lease_costs(costs)


def print_lease_costs(costs: dict) -> None:  # type: ignore[type-arg]
    figure(
        f"claim of a share of {costs['claimed']:,} leases",
        f"{costs['claim_s']:.2f} s",
        f"({costs['claim_beats']} heartbeats)",
    )
    figure("heartbeat with nothing to move", f"{costs['renew_ms']:.1f} ms")
    figure(f"fence of a {costs['batch']:,}-check batch", f"{costs['fence_ms']:.1f} ms")
    figure("lease overhead per check in the database", f"{costs['per_check_us']:.1f} us")


if __name__ == "__main__":
    main()
