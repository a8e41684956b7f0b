"""The check engine against a raw aiohttp loop, at the same connection policy and
concurrency, in one run: checks/s, CPU-s per 1,000 checks, and their ratio.

    .venv/bin/python bench/engine.py [--checks 20000] [--concurrency 100] [--cli-monitors 20000]

Ours is the whole pipeline: plugin dispatch, retry policy, a condition, the state
machine and MemoryStore. Then `statuscore check` on a monitors.toml of 20,000 monitors
as a whole process (start, load, check, print) against a raw aiohttp script that reads
the same file and does the same GETs at the same concurrency, printing a line each.
Client on core 0, target on core 1.

`--part instructions` counts instead of timing: valgrind's callgrind runs each side's
checks in a child process (with a fixed hash seed) and the CPU instructions one check
costs, raw and ours, come out the same on every run however busy the machine is. It is
how a cut of a few percent can be told from the noise of shared machines.

`--part layers` times a keep-alive check cut at each layer of ours (the bare request
through our session, the check type, `run_attempt`, `MonitorCheck.run`, the scheduler's
pipeline), user and system CPU apart, beside the raw loop: where ours spends more.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
from common import CLIENT_CORE, cpu_seconds, figure, heading, pin, target_server

from statuscore import MemoryStore, Scheduler, make_monitor, settle_loaded_config  # noqa: E402
from statuscore.checking import run_attempt  # noqa: E402
from statuscore.checks.base import CheckContext  # noqa: E402
from statuscore.pool import map_limited  # noqa: E402


async def raw_loop(url: str, checks: int, concurrency: int, keepalive: bool) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=not keepalive)
    slots = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with slots:
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200

        await asyncio.gather(*(one() for _ in range(checks)))


def our_scheduler(url: str, checks: int, concurrency: int, keepalive: bool) -> Scheduler:
    monitors = [
        make_monitor(name=f"m{i}", url=url, conditions=["status == 200"], retries=1, retry_delay="1s")
        for i in range(checks)
    ]
    return Scheduler(monitors, store=MemoryStore(history=2), concurrency=concurrency, keepalive=keepalive)


@contextlib.contextmanager
def collector_settled(settled: bool) -> Iterator[None]:
    """`settle_loaded_config` (what is alive frozen, a gen-0 threshold of 10,000) for the
    block, then the collector as it was."""
    if not settled:
        yield
        return
    threshold = gc.get_threshold()
    settle_loaded_config()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def measure(label: str, run) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    cpu, wall = cpu_seconds(), time.perf_counter()
    await run()
    return time.perf_counter() - wall, cpu_seconds() - cpu


async def compare(url: str, checks: int, concurrency: int, keepalive: bool, rounds: int) -> dict[str, float]:
    policy = "keep-alive" if keepalive else "new connection per check"
    heading(f"{checks:,} checks, {policy}, concurrency {concurrency}")
    best: dict[str, tuple[float, float]] = {}
    for round_number in range(rounds):  # alternate, so drift hits both sides alike
        for settled in (False, True):  # the collector as it comes, then as a long-running process sets it
            suffix = ", settled" if settled else ""
            with collector_settled(settled):
                wall, cpu = await measure("raw", lambda: raw_loop(url, checks, concurrency, keepalive))
            best["raw" + suffix] = min(best.get("raw" + suffix, (wall, cpu)), (wall, cpu))
            scheduler = our_scheduler(url, checks, concurrency, keepalive)
            results: list = []

            async def ours(scheduler=scheduler, results=results) -> None:
                results.extend(await scheduler.check_once())

            with collector_settled(settled):
                wall, cpu = await measure("ours", ours)
            await scheduler.close()
            assert all(r.status.value == "up" for r in results), {r.error for r in results}
            best["ours" + suffix] = min(best.get("ours" + suffix, (wall, cpu)), (wall, cpu))
            del scheduler, results, ours  # not alive (for the collector to walk) in the next raw run
            gc.collect()
        print(f"  round {round_number + 1}/{rounds} done", flush=True)
    figures = {}
    for name in ("raw", "ours", "raw, settled", "ours, settled"):
        wall, cpu = best[name]
        figure(f"{name}: checks/s", f"{checks / wall:,.0f}")
        figure(f"{name}: CPU-s per 1,000 checks", f"{1000 * cpu / checks:.3f}")
        figures[f"{name}_rate"], figures[f"{name}_cpu"] = checks / wall, 1000 * cpu / checks
    ratio = figures["ours_rate"] / figures["raw_rate"]
    figure("ours / raw, checks/s", f"{ratio:.2f}", "(goal >= 0.8)")
    figure("ours / raw, CPU per check", f"{figures['ours_cpu'] / figures['raw_cpu']:.2f}")
    figure(
        "ours / raw, both settled, checks/s",
        f"{figures['ours, settled_rate'] / figures['raw, settled_rate']:.2f}",
        "(goal >= 0.8; settle_loaded_config on both, as a process holding its monitors does)",
    )
    return figures


def _layers(scheduler: Scheduler) -> dict[str, Callable[[int], Awaitable[object]]]:
    """Monitor index -> one keep-alive check cut at each layer of ours, outermost last."""
    session, loop, checks = scheduler.session, asyncio.get_running_loop(), scheduler.checks
    assert session is not None
    quiet = logging.getLogger("bench.layers")
    now = scheduler.clock.now()

    async def request(index: int) -> None:
        check = checks[index].check
        async with session.request(
            "GET", check._url, allow_redirects=True, max_redirects=10, **check._request
        ) as response:
            await response.read()

    # The inner layers return nothing: what map_limited returns stays alive to the end,
    # and only the whole pipeline's results (as check_once's) are meant to.
    async def check_type(index: int) -> None:
        monitor_check = checks[index]
        await monitor_check.check.run(
            CheckContext(session=session, monitor=monitor_check.monitor, deadline=loop.time() + 10, log=quiet, now=now)
        )

    async def attempt(index: int) -> None:
        await run_attempt(checks[index].check, checks[index].monitor, session, now=now, loop=loop)

    async def monitor_check(index: int) -> None:
        await checks[index].run(session, scheduler.clock, None, loop)

    return dict(zip(LAYER_NAMES, (request, request, check_type, attempt, monitor_check, scheduler._process)))


LAYER_NAMES = (
    "our request, next item started at once",
    "our request, next item in the next turn",
    "+ the check type (CheckContext, HttpCheck.run)",
    "+ run_attempt (the deadline)",
    "+ MonitorCheck.run (judge, result)",
    "+ the scheduler's _process (state, store, hooks)",
)


async def _started_at_once(func: Callable[[int], Awaitable[object]], items: int, limit: int) -> None:
    """`map_limited` as it was before its workers yielded between items (the comparison)."""
    positions = iter(range(items))

    async def worker() -> None:
        for position in positions:
            await func(position)

    await asyncio.gather(*(worker() for _ in range(limit)))


async def per_layer(url: str, checks: int, concurrency: int, rounds: int) -> None:
    """User and system CPU per keep-alive check, both sides settled, cut at each layer:
    where ours spends beyond the raw loop's."""
    heading(f"{checks:,} keep-alive checks cut at each layer of ours, settled: CPU per check")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(rounds):
        for name in ["raw aiohttp loop", *LAYER_NAMES]:
            # built for the raw loop too, so every side runs beside the same heap
            scheduler = our_scheduler(url, checks, concurrency, keepalive=True)
            await scheduler.start()
            if name == "raw aiohttp loop":
                run = lambda: raw_loop(url, checks, concurrency, True)  # noqa: E731
            elif name == LAYER_NAMES[0]:
                run = lambda scheduler=scheduler, name=name: _started_at_once(
                    _layers(scheduler)[name], checks, concurrency
                )  # noqa: E731
            else:
                run = lambda scheduler=scheduler, name=name: map_limited(
                    _layers(scheduler)[name], range(checks), concurrency
                )  # noqa: E731
            with collector_settled(True):
                before = resource.getrusage(resource.RUSAGE_SELF)
                await run()
                after = resource.getrusage(resource.RUSAGE_SELF)
            await scheduler.close()
            del scheduler
            gc.collect()
            spent = (
                (after.ru_utime - before.ru_utime) * 1e6 / checks,
                (after.ru_stime - before.ru_stime) * 1e6 / checks,
            )
            best[name] = min(best.get(name, spent), spent, key=sum)
    for name, (user, system) in best.items():
        figure(name, f"{user + system:.1f} us", f"(user {user:.1f}, system {system:.1f})")


RAW_SCRIPT = textwrap.dedent("""
    import asyncio, json, sys, tomllib
    import aiohttp

    async def main(urls):
        slots = asyncio.Semaphore(50)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50)) as session:
            async def one(url):
                async with slots:
                    async with session.get(url) as response:
                        await response.read()
                        return {"url": url, "status": response.status}
            for line in await asyncio.gather(*(one(u) for u in urls)):
                print(json.dumps(line))

    with open(sys.argv[1], "rb") as file:
        asyncio.run(main([m["url"] for m in tomllib.load(file)["monitor"]]))
""")


def whole_process(url: str, monitors: int, rounds: int) -> None:
    """`statuscore check --json FILE` against RAW_SCRIPT on the same file, wall and
    CPU of each whole process (interpreter start-up included on both sides)."""
    heading(f"statuscore check on {monitors:,} monitors, as a whole process")
    with tempfile.TemporaryDirectory() as folder:
        toml = Path(folder) / "monitors.toml"
        toml.write_text(
            '[defaults]\nretries = 1\nretry_delay = "1s"\nconditions = ["status == 200"]\n\n'
            + "".join(f'[[monitor]]\nname = "m{i}"\nurl = "{url}?m={i}"\n\n' for i in range(monitors))
        )
        script = Path(folder) / "raw.py"
        script.write_text(RAW_SCRIPT)
        commands = {
            "raw": [sys.executable, str(script), str(toml)],
            "ours": [str(Path(sys.executable).parent / "statuscore"), "check", "--json", str(toml)],
        }
        best: dict[str, tuple[float, float]] = {}
        for _ in range(rounds):
            for name, command in commands.items():
                wall, cpu = _timed_process(command, monitors)
                best[name] = min(best.get(name, (wall, cpu)), (wall, cpu))
    for name in ("raw", "ours"):
        figure(f"{name}: whole process, wall / CPU", f"{best[name][0]:.2f} s / {best[name][1]:.2f} s")
    figure("ours / raw, monitors/s", f"{best['raw'][0] / best['ours'][0]:.2f}", "(goal >= 0.8)")


def _timed_process(command: list[str], monitors: int) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=600, preexec_fn=lambda: pin(0, CLIENT_CORE)
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = done.stdout.count(b"\n")
    assert lines == monitors, f"{command[0]} printed {lines} lines for {monitors} monitors"
    assert b'"down"' not in done.stdout, "a check failed: the figures would not be comparable"
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def counted(url: str) -> None:
    heading("keep-alive checks counted in CPU instructions (callgrind), the same every run")
    counts = instruction_counts(url)
    if counts is None:
        print("  valgrind is not installed (apt-get install valgrind): skipped")
        return
    for side in ("raw", "ours"):
        figure(f"{side}: instructions per check", f"{counts[side]:,.0f}")
    figure(
        "ours / raw, instructions per check",
        f"{counts['ours'] / counts['raw']:.2f}",
        "(checks/s >= 0.8 asks for <= 1.25)",
    )


def blackbox_exporter(url: str, checks: int, concurrency: int) -> float | None:
    """CPU-s per 1,000 probes of prometheus-blackbox-exporter, when installed."""
    binary = shutil.which("prometheus-blackbox-exporter")
    if binary is None:
        return None
    return None if not binary else _drive_blackbox(binary, url, checks, concurrency)


def _drive_blackbox(binary: str, url: str, checks: int, concurrency: int) -> float:
    import os
    import tempfile
    from urllib.parse import quote

    from common import TARGET_CORE, free_port

    port = free_port()
    config = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False)
    config.write("modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n")
    config.close()
    process = subprocess.Popen(
        [binary, f"--config.file={config.name}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pin(process.pid, TARGET_CORE)
    time.sleep(1)
    probe = f"http://127.0.0.1:{port}/probe?module=http_2xx&target={quote(url)}"
    before = cpu_seconds(process.pid)
    asyncio.run(raw_loop(probe, checks, concurrency, keepalive=True))
    used = cpu_seconds(process.pid) - before
    process.terminate()
    os.unlink(config.name)
    return 1000 * used / checks


# Checks each counting child runs: the difference of the two runs is what the extra checks
# cost, start-up, imports and the session cancelled out; every run builds COUNT_MONITORS.
COUNT_SIZES = (500, 2500)
COUNT_MONITORS = 2500


def instruction_counts(url: str) -> dict[str, float] | None:
    """CPU instructions per keep-alive check, raw and ours, under callgrind; None
    without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    counts = {}
    for side in ("raw", "ours"):
        totals = [_counted_run(side, url, checks) for checks in COUNT_SIZES]
        counts[side] = (totals[1] - totals[0]) / (COUNT_SIZES[1] - COUNT_SIZES[0])
        print(f"  {side} counted", flush=True)
    return counts


def _counted_run(side: str, url: str, checks: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--count-child",
        side,
        "--checks",
        str(checks),
        "--url",
        url,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONHASHSEED": "0"}
    )  # dicts laid out alike every run
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run of {side} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return int(found.group(1))


def count_child(side: str, url: str, checks: int, concurrency: int) -> None:
    """One side's `checks` keep-alive checks, in a process callgrind watches."""
    if side == "raw":
        asyncio.run(raw_loop(url, checks, concurrency, keepalive=True))
        return
    scheduler = our_scheduler(url, COUNT_MONITORS, concurrency, keepalive=True)
    del scheduler.checks[checks:]  # the same monitors built for every size: only checks differ

    async def ours() -> None:
        results = await scheduler.check_once()
        await scheduler.close()
        assert all(r.status.value == "up" for r in results), {r.error for r in results}

    asyncio.run(ours())


PARTS = ("keepalive", "fresh", "process", "blackbox", "instructions", "layers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cli-monitors", type=int, default=20_000)
    parser.add_argument(
        "--part", action="append", choices=PARTS, help="measure only this part (repeatable; default: every part)"
    )
    parser.add_argument("--count-child", choices=("raw", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_child:
        count_child(args.count_child, args.url, args.checks, args.concurrency)
        return
    parts = set(args.part or PARTS)
    pin(0, CLIENT_CORE)
    with target_server() as (base, kind):
        print(f"target: {kind} at {base}/ok (core 1); client on core 0")
        url = f"{base}/ok"
        if "keepalive" in parts:
            asyncio.run(compare(url, args.checks, args.concurrency, True, args.rounds))
        if "fresh" in parts or "blackbox" in parts:
            fresh = asyncio.run(compare(url, args.checks, args.concurrency, False, args.rounds))
        if "process" in parts:
            whole_process(url, args.cli_monitors, args.rounds)
        if "instructions" in parts:
            counted(url)
        if "layers" in parts:
            asyncio.run(per_layer(url, args.checks, args.concurrency, min(args.rounds, 3)))
        if "blackbox" not in parts:
            return
        heading("prometheus-blackbox-exporter, same target")
        blackbox = blackbox_exporter(url, min(args.checks, 5000), args.concurrency)
        if blackbox is None:
            print("  not installed (apt-get install prometheus-blackbox-exporter): skipped")
        else:
            figure("blackbox: CPU-s per 1,000 probes", f"{blackbox:.3f}")
            figure(
                "ours (new connection) / blackbox, CPU per check",
                f"{fresh['ours_cpu'] / blackbox:.2f}",
                "(goal <= 0.7)",
            )


if __name__ == "__main__":
    main()
