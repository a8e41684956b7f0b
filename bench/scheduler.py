"""The scheduler at scale: N monitors at a 60 s interval on one core against a local
target answering on several ports (the client, not the target, is measured), for a
fixed time. Prints scheduling lag (due time -> request start) p50/p99/max, checks/s
and memory.

    .venv/bin/python bench/scheduler.py [--monitors 250000 10000] [--seconds 180] [--ports 8] [--no-settle]

The monitors are settled out of the collector's sight once built (`settle_loaded_config`),
as statusweb's `run-checks` does; `--no-settle` measures the collector as it comes.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import replace

from common import CLIENT_CORE, cpu_seconds, figure, heading, percentile, pin, rss_mb, target_servers

from statuscore import MemoryStore, Scheduler, make_monitor, settle_loaded_config  # noqa: E402


async def run(bases: list[str], monitors: int, seconds: float, concurrency: int, settle: bool) -> None:
    heading(f"{monitors:,} monitors at 60 s for {seconds:.0f} s, one core, concurrency {concurrency}")
    started = time.perf_counter()
    templates = [
        make_monitor(
            name="m",
            url=f"{base}/ok",
            interval="60s",
            timeout="10s",
            retries=1,
            retry_delay="1s",
            conditions=["status == 200"],
        )
        for base in bases
    ]
    fleet = [replace(templates[i % len(templates)], name=f"monitor {i}", slug=f"m{i}") for i in range(monitors)]
    scheduler = Scheduler(fleet, store=MemoryStore(history=1), concurrency=concurrency)
    if settle:  # as statusweb's run-checks does with its loaded monitors
        settle_loaded_config()
    print(
        f"  built in {time.perf_counter() - started:.1f} s{', collector settled' if settle else ''}; running...",
        flush=True,
    )
    cpu = cpu_seconds()
    progress = asyncio.ensure_future(_progress(scheduler, seconds))
    await scheduler.run(duration=seconds)
    progress.cancel()
    used = cpu_seconds() - cpu
    lags = list(scheduler.lag_samples)
    figure("checks done", f"{scheduler.checks_done:,}")
    figure("checks/s", f"{scheduler.checks_done / seconds:,.0f}", f"(needed {monitors / 60:,.0f})")
    figure("scheduling lag p50", f"{percentile(lags, 0.5) * 1000:.1f} ms")
    figure("scheduling lag p99", f"{percentile(lags, 0.99) * 1000:.1f} ms", "(goal < 1000 ms)")
    figure("scheduling lag max", f"{max(lags) * 1000:.1f} ms")
    figure("CPU-s per 1,000 checks", f"{1000 * used / max(scheduler.checks_done, 1):.3f}")
    figure("RSS", f"{rss_mb():.0f} MB", "(goal < 1536 MB)")


async def _progress(scheduler: Scheduler, seconds: float) -> None:
    started = time.monotonic()
    while True:
        await asyncio.sleep(15)
        print(
            f"  {time.monotonic() - started:5.0f}/{seconds:.0f} s: {scheduler.checks_done:,} checks, "
            f"RSS {rss_mb():.0f} MB",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, nargs="*", default=[250_000, 10_000])
    parser.add_argument("--ports", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--no-settle", action="store_true", help="leave the collector as it comes")
    args = parser.parse_args()
    pin(0, CLIENT_CORE)
    with target_servers(args.ports) as (bases, kind):
        print(f"target: {kind} on {len(bases)} ports (core 1)")
        for count in args.monitors:
            asyncio.run(
                run(
                    bases,
                    count,
                    args.seconds if count >= 100_000 else min(args.seconds, 90),
                    args.concurrency,
                    not args.no_settle,
                )
            )


if __name__ == "__main__":
    main()
