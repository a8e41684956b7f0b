"""Detection time: a target goes down at a known instant; how long until the local
Slack-shaped server has the DOWN alert? Interval 10 s, retries 3 x 1 s; 20 outages, run
side by side on 20 monitors (each its own target path) so the run takes seconds.

Twice: each monitor alerting a Slack sink of its own (independent outages: detection
alone, goal interval + retries + 1 s), then all on one sink, where outages a second
apart are one event: the first DOWN at once, the others together in one message after
`group_wait` (goal: that plus group_wait).

    .venv/bin/python bench/detect.py [--outages 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from aiohttp import web
from common import figure, heading, percentile

from statuscore import Scheduler, make_monitor  # noqa: E402
from statuscore.alerts.slack import SlackConfig, SlackSink  # noqa: E402
from statuscore.testing import serve_app  # noqa: E402

INTERVAL, RETRIES, RETRY_DELAY = 10.0, 3, 1.0


async def run(outages: int, *, shared_sink: bool) -> None:
    grouping = "one Slack sink for all (grouped)" if shared_sink else "a Slack sink each"
    heading(f"{outages} outages, interval {INTERVAL:.0f} s, retries {RETRIES} x {RETRY_DELAY:.0f} s, {grouping}")
    down_since: dict[str, float] = {}
    received: dict[str, float] = {}
    messages = 0

    async def service(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return web.Response(status=503 if name in down_since else 200)

    async def slack(request: web.Request) -> web.Response:
        nonlocal messages
        messages += 1
        title = (await request.json())["text"].split("\n")[
            0
        ]  # "... Service Down: a (...)" or "... within a minute: a, b"
        named = (
            title.split(": ", 1)[1].split(" (")[0].split(", ")
            if "services down" in title
            else [title.split("Service Down: ")[1].split(" (")[0]]
        )
        for name in named:
            received.setdefault(name, time.monotonic())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/svc/{name}", service)
    app.router.add_post("/hook", slack)
    async with serve_app(app) as base:
        monitors = [
            make_monitor(
                name=f"svc{i}",
                url=f"{base}/svc/svc{i}",
                interval=f"{INTERVAL}s",
                timeout="1s",
                retries=RETRIES,
                retry_delay=f"{RETRY_DELAY}s",
                alerts=[] if shared_sink else [f"slack{i}"],
            )
            for i in range(outages)
        ]
        names = ["slack"] if shared_sink else [f"slack{i}" for i in range(outages)]
        sinks = [SlackSink(SlackConfig(webhook_url=f"{base}/hook"), instance_name=name) for name in names]
        scheduler = Scheduler(monitors, sinks=sinks)
        running = asyncio.ensure_future(scheduler.run())
        await asyncio.sleep(INTERVAL + 1)  # every monitor checked once and UP
        rng = random.Random(7)
        for monitor in monitors:  # outages start at random phases of the interval
            await asyncio.sleep(rng.uniform(0, INTERVAL / outages * 2))
            down_since[monitor.name] = time.monotonic()
        wait = sinks[0].grouping.group_wait if shared_sink else 0.0
        deadline = time.monotonic() + INTERVAL + RETRIES * (RETRY_DELAY + 1) + wait + 5
        while len(received) < outages and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        scheduler.stop()
        await running
    delays = [received[name] - down_since[name] for name in down_since if name in received]
    budget = INTERVAL + RETRIES * RETRY_DELAY + 1 + wait
    figure("alerts received", f"{len(received)}/{outages}", f"(in {messages} messages)")
    figure("detection time p50", f"{percentile(delays, 0.5):.2f} s")
    figure(
        "detection time max", f"{max(delays) if delays else float('nan'):.2f} s", f"(goal <= {budget:.0f} s every time)"
    )
    figure("outages within the goal", f"{sum(d <= budget for d in delays)}/{outages}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", type=int, default=20)
    outages = parser.parse_args().outages
    asyncio.run(run(outages, shared_sink=False))
    asyncio.run(run(outages, shared_sink=True))


if __name__ == "__main__":
    main()
