"""The public page and summary.json under wrk, cached and uncached, against a bare
Pyramid + waitress view returning the same bytes, in one run: as they are, and
compressed (brotli, gzip) as browsers ask for them.
Uses the 150-service, 13-million-row history of bench/history.py plus 20 incidents.

    .venv/bin/python bench/page.py    (needs wrk: apt-get install wrk; and bench/history.py
                                       run first: without either it says so and exits 2)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from common import CLIENT_CORE, TARGET_CORE, figure, free_port, heading, history_database_url, needs_first, pin
from sqlalchemy import select  # noqa: E402

from statuscore import utcnow  # noqa: E402
from statusweb.migrations import upgrade  # noqa: E402
from statusweb.models import Incident, Service, ServiceState, get_engine, get_session_factory  # noqa: E402

WORK = Path("/tmp/statusweb-bench-page")

BARE_APP = textwrap.dedent("""
    import sys
    from pyramid.config import Configurator
    from pyramid.response import Response
    from waitress import serve

    body = open(sys.argv[2], "rb").read()
    encoding = sys.argv[3] if len(sys.argv) > 3 else ""

    def page(request):
        response = Response(body=body, content_type="text/html", charset="utf-8")
        if encoding:
            response.content_encoding = encoding
        return response

    with Configurator() as config:
        config.add_route("page", "/")
        config.add_view(page, route_name="page")
        app = config.make_wsgi_app()
    serve(app, listen=f"127.0.0.1:{sys.argv[1]}", threads=4, _quiet=True)
""")


def prepare(url: str, count: int = 20) -> None:
    """Bring bench/history.py's database to the newest schema; give every service a
    current state and add `count` incidents (one still active)."""
    engine = get_engine(url)
    upgrade(engine)
    now = utcnow()
    with get_session_factory(engine).begin() as session:
        have = {s.service_id for s in session.query(ServiceState)}
        for service_id in session.scalars(select(Service.id)):
            if service_id not in have:
                session.add(
                    ServiceState(
                        service_id=service_id,
                        status="up",
                        since=now,
                        consecutive_failures=0,
                        consecutive_successes=1,
                        flapping=False,
                        flips="",
                        last_checked_at=now,
                        last_status="up",
                        last_latency_ms=120,
                        last_status_code=200,
                        updated_at=now,
                    )
                )
    with get_session_factory(engine).begin() as session:
        if session.query(Incident).count() >= count:
            return
        now = utcnow()
        for number in range(count):
            incident = Incident(
                title=f"Incident {number}",
                impact="minor",
                status="investigating",
                root_cause="",
                created_at=now - timedelta(days=number * 4),
                updated_at=now,
                deleted=False,
            )
            session.add(incident)
            incident.post_update(
                status="investigating", body="Looking into it.", at=incident.created_at, author="bench"
            )
            if number:  # one stays active
                incident.post_update(
                    status="resolved", body="Fixed.", at=incident.created_at + timedelta(hours=1), author="bench"
                )
    engine.dispose()


def serve_statusweb(url: str, cache_seconds: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    WORK.mkdir(exist_ok=True)
    ini = WORK / f"page-{cache_seconds}.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {url}\nstatusweb.runner = false\n"
        f"statusweb.page_cache_seconds = {cache_seconds}\nstatusweb.secret = bench\n"
        # wrk is one client asking thousands of times a second: limits so high they never
        # refuse, so their cost is in the figures but no 429 is
        f"statusweb.rate_per_client = 100000000\nstatusweb.rate_per_page = 100000000\n\n"
        f"[server:main]\nuse = egg:statuscore#main\nlisten = 127.0.0.1:{port}\nthreads = 4\n"
    )
    log = (WORK / "waitress.log").open("ab")  # waitress warns about queue depth: keep the pipe clear
    process = subprocess.Popen([str(Path(sys.executable).parent / "pserve"), str(ini)], stdout=log, stderr=log)
    pin(process.pid, TARGET_CORE)
    return process, port


def wait_up(port: int, path: str = "/") -> int:
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
                return len(answer.read())
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not come up")


def wrk(port: int, path: str, encoding: str = "", connections: int = 32) -> tuple[float, float]:
    """(requests/s, p99 ms) of `wrk -t1 -c32 -d10s` on the client core; with `encoding`,
    asking for it (Accept-Encoding), as browsers do; `connections=1` for one reader at a
    time (what a render costs a reader, without 31 others queued in front of it)."""
    headers = ["-H", f"Accept-Encoding: {encoding}"] if encoding else []
    out = subprocess.run(
        [
            "taskset",
            "-c",
            str(CLIENT_CORE),
            "wrk",
            "-t1",
            f"-c{connections}",
            "-d10s",
            "--latency",
            *headers,
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return rate, float(p99.group(1)) * scale


def main() -> None:
    url = history_database_url()
    if shutil.which("wrk") is None:
        needs_first("wrk is missing: apt-get install wrk, then this again")
    heading("public page and summary.json, 150 services, 13 M rows of history, 20 incidents")
    prepare(url)
    results: dict[tuple[str, int, str], tuple[float, float]] = {}
    one: dict[str, tuple[float, float]] = {}  # uncached, one connection
    bodies: dict[str, bytes] = {}
    for cache in (5, 0):
        process, port = serve_statusweb(url, cache)
        wait_up(port)
        wait_up(port, "/api/v2/summary.json")
        for encoding in ("", "br", "gzip") if cache else ("",):
            bodies[encoding] = fetch(port, "/", encoding)  # the very bytes the bare view will send
            for path in ("/", "/api/v2/summary.json"):
                if not cache:  # first: after 32 at once the server is still working off their queue
                    one[path] = wrk(port, path, encoding, connections=1)
                results[(path, cache, encoding)] = wrk(port, path, encoding)
                time.sleep(2)  # let that queue drain before the next figure
        process.terminate()
        process.wait(10)
    bare: dict[str, tuple[float, float]] = {}
    for encoding, body in bodies.items():
        bare[encoding] = serve_bare(body, encoding)
        figure(
            f"bare Pyramid view, the same {len(body):,} bytes {encoding or 'identity'}",
            f"{bare[encoding][0]:,.0f} req/s",
            f"p99 {bare[encoding][1]:.1f} ms",
        )
    for (path, cache, encoding), (rate, p99) in results.items():
        label = f"{path} {'cached' if cache else 'uncached'} {encoding or 'identity'}"
        goal = (
            f"(goal >= 1.0 of bare: {rate / bare[encoding][0]:.2f})"
            if cache and path == "/"
            else ""
            if cache
            else "(32 at once: the queue, not the render)"
        )
        if rate == 0:  # wrk gives up on a request after 2 s
            figure(label, "every request took over 2 s", goal)
            continue
        figure(label, f"{rate:,.0f} req/s", f"p99 {p99:.1f} ms {goal}")
    for path, (rate, p99) in one.items():
        figure(
            f"{path} uncached, one reader at a time",
            f"{rate:,.0f} req/s",
            f"p99 {p99:.1f} ms (goal p99 < 50 ms: {'met' if p99 < 50 else 'missed'})",
        )


def fetch(port: int, path: str, encoding: str) -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Accept-Encoding": encoding} if encoding else {}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.headers.get("Content-Encoding", "") == encoding, answer.headers.get("Content-Encoding")
        return bytes(answer.read())


def serve_bare(body: bytes, encoding: str) -> tuple[float, float]:
    """The bare Pyramid view sending `body` (with its Content-Encoding): its wrk figures."""
    path = WORK / f"bare-{encoding or 'identity'}.bin"
    path.write_bytes(body)
    port = free_port()
    bare = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, str(port), str(path), encoding],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # waitress's queue warnings
    pin(bare.pid, TARGET_CORE)
    wait_up(port)
    try:
        return wrk(port, "/", encoding)
    finally:
        bare.terminate()
        bare.wait(10)


if __name__ == "__main__":
    main()
