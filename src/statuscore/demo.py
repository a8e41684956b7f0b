"""Sefaria-like demo services on 127.0.0.1, so statuscore can be tried with no internet.

    python -m statuscore.demo --port 8099
    statuscore check examples/local.toml

It imitates the four services Sefaria watches: a text API, the Linker (202 + task id,
then Celery-style polling), an MCP server's SSE endpoint and an export server; and a
hosting provider's Statuspage summary.json (/vendor), for a third-party monitor. These are
DEMO targets, clearly not the real services.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json

from aiohttp import web

DEMO_PORT = 8099
_POLLS_UNTIL_DONE = 2


# A hosting provider's Statuspage summary.json, for the `statuspage` demo monitor
DEMO_VENDOR = {
    "page": {"id": "demo", "name": "Hosting provider (demo)", "url": "http://127.0.0.1/vendor"},
    "components": [
        {"id": "demo-cdn", "name": "CDN", "status": "operational", "group": False, "group_id": None},
        {"id": "demo-dns", "name": "DNS", "status": "operational", "group": False, "group_id": None},
    ],
    "incidents": [],
    "scheduled_maintenances": [],
    "status": {"indicator": "none", "description": "All Systems Operational"},
}


def make_demo_app() -> web.Application:
    tasks: dict[str, int] = {}
    counter = itertools.count(1)

    async def text(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "ref": "Genesis 1:1",
                "he": ["בְּרֵאשִׁית בָּרָא אֱלֹהִים"],
                "text": ["In the beginning God created..."],
                "demo": True,
            }
        )

    async def find_refs(request: web.Request) -> web.Response:
        task_id = f"demo-{next(counter)}"
        tasks[task_id] = 0
        return web.json_response({"task_id": task_id}, status=202)

    async def task_state(request: web.Request) -> web.Response:
        task_id = request.match_info["task_id"]
        if task_id not in tasks:
            return web.json_response({"state": "PENDING"})  # Celery's answer for unknown ids
        tasks[task_id] += 1
        if tasks[task_id] >= _POLLS_UNTIL_DONE:
            tasks.pop(task_id)
            return web.json_response({"state": "SUCCESS", "result": {"refs": ["Job 1:1"]}})
        return web.json_response({"state": "STARTED"})

    async def sse(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(b"event: endpoint\ndata: /messages/?session_id=demo\n\n")
        try:
            for _ in range(20):  # a bounded stream: pings for five minutes, then done
                await asyncio.sleep(15)
                await response.write(b": ping\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    async def export_health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "demo": True})

    async def vendor_summary(request: web.Request) -> web.Response:
        return web.json_response(DEMO_VENDOR)

    app = web.Application()
    app.router.add_get("/vendor/api/v2/summary.json", vendor_summary)
    app.router.add_get("/api/texts/Genesis.1.1", text)
    app.router.add_post("/api/find-refs", find_refs)
    app.router.add_get("/api/async/{task_id}", task_state)
    app.router.add_get("/sse", sse)
    app.router.add_get("/export/health", export_health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEMO_PORT)
    args = parser.parse_args()
    print(json.dumps({"demo": "statuscore", "listening": f"http://127.0.0.1:{args.port}"}), flush=True)
    web.run_app(make_demo_app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
