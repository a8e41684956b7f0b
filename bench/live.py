"""Live pages at scale: 2,000 open status pages polling /api/live the way live.js does
(every 2 s with jitter, If-None-Match, a keep-alive connection each), against the real
server (pserve + waitress, production's page cache) on the other core. Measures the
admin's latency for a signed-in editor, timed from a process of its own, with no pages
open (the baseline, same run) and with all of them open, and how long an incident posted
in the admin takes to reach every page (the page fetched again, holding its title).

    .venv/bin/python bench/live.py [--pages 2000] [--seconds 20]
    BENCH_DEBUG=1 ... also prints the slowest admin answers (seconds after the post, ms)

Goals (issue 14): admin p99 < 200 ms with 2,000 pages open; an update on every open page
in < 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import aiohttp  # noqa: E402
from common import CLIENT_CORE, ROOT, TARGET_CORE, figure, free_port, heading, percentile, pin

from statuscore import utcnow  # noqa: E402
from statusweb.migrations import upgrade  # noqa: E402
from statusweb.models import Service, ServiceState, User, get_engine, get_session_factory  # noqa: E402
from statusweb.services.organizations import join, organization_named  # noqa: E402

WORK = Path("/tmp/statusweb-bench-live")
PASSWORD = "bench password 1234"
TITLE = "Bench incident: Linker tasks stuck"
SOON = 0.5  # seconds, live.js's SOON


def prepare(services: int = 30) -> str:
    WORK.mkdir(exist_ok=True)
    database = WORK / "live.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    engine = get_engine(url)
    upgrade(engine)
    now = utcnow()
    with get_session_factory(engine).begin() as session:
        for position in range(services):
            service = Service(
                slug=f"service-{position}",
                name=f"Service {position}",
                type="http",
                position=position,
                group_name="Core",
                description="",
                hidden=False,
                created_at=now,
                updated_at=now,
            )
            session.add(service)
            session.flush()
            session.add(
                ServiceState(
                    service_id=service.id,
                    status="up",
                    since=now,
                    consecutive_failures=0,
                    consecutive_successes=1,
                    flapping=False,
                    flips="",
                    last_checked_at=now,
                    last_status="up",
                    last_latency_ms=120,
                    updated_at=now,
                )
            )
        user = User(name="bench", role="editor", created_at=now)
        user.set_password(PASSWORD)
        session.add(user)
        join(session, user, organization_named(session, "default", now), "admin", now)  # may post incidents
    engine.dispose()
    return url


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    ini = WORK / "live.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {url}\nstatusweb.runner = false\n"
        f"statusweb.page_cache_seconds = 10\nstatusweb.page_url = http://127.0.0.1:{port}\n"
        # 2,000 readers from one address here; in the field each has its own: a per-client limit
        # so high it never refuses (its cost stays in the figures)
        f"statusweb.rate_per_client = 100000000\n"
        f"statuscore.monitors = {ROOT / 'examples' / 'development.toml'}\n\n"
        f"[server:main]\nuse = egg:statuscore#main\nlisten = 127.0.0.1:{port}\nthreads = 8\n"
    )
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "pserve"), str(ini)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "STATUSWEB_SECRET": "b" * 40},
    )
    pin(server.pid, TARGET_CORE)
    if os.environ.get("BENCH_PROFILE"):  # py-spy's view of the server through the run (flame graph SVG)
        subprocess.Popen(
            [
                os.environ["BENCH_PROFILE"],
                "record",
                "--pid",
                str(server.pid),
                "--threads",
                "--output",
                str(WORK / "server-profile.txt"),
                "--format",
                "raw",
                "--duration",
                "40",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return server


class OpenPage:
    """One reader's tab: live.js's loop (poll, compare version, fetch the page on change)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        self.version: str | None = None
        self.etag: str | None = None
        self.polls = 0
        self.not_modified = 0
        self.errors = 0
        self.saw_incident_at: float | None = None

    async def run(self, until: float) -> None:
        await asyncio.sleep(random.random() * 2.0)  # pages were opened at different moments
        try:  # a reader opens the page first; live.js then polls from it
            async with self.session.get(f"{self.base}/", timeout=aiohttp.ClientTimeout(total=30)) as page:
                await page.read()
        except (TimeoutError, aiohttp.ClientError):
            self.errors += 1
        delay = 2.0
        while time.monotonic() < until:
            try:
                delay = await self.poll() or 2.0
            except (TimeoutError, aiohttp.ClientError):
                self.errors += 1
                delay = min(60.0, delay * 2)
            await asyncio.sleep(delay * (0.8 + random.random() * 0.4))
        await self.session.close()

    async def poll(self) -> float | None:
        """One poll; the seconds to the next one when that is not the usual 2 s."""
        headers = {"If-None-Match": self.etag} if self.etag else {}
        self.polls += 1
        async with self.session.get(
            f"{self.base}/api/live", headers=headers, timeout=aiohttp.ClientTimeout(total=30)
        ) as answer:
            if answer.status == 304:
                self.not_modified += 1
                return
            answer.raise_for_status()
            etag = answer.headers.get("ETag")
            version = (await answer.json())["version"]
        if self.version is not None and version != self.version:
            async with self.session.get(f"{self.base}/", timeout=aiohttp.ClientTimeout(total=30)) as page:
                html = await page.text()
            if f'data-version="{version}"' not in html:
                return SOON  # the server still had the old copy: ask again soon, ETag unchanged, as live.js does
            if TITLE in html and self.saw_incident_at is None:
                self.saw_incident_at = time.monotonic()
        self.version, self.etag = version, etag
        return None


async def signed_in(base: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies from 127.0.0.1
    async with session.get(f"{base}/admin/login") as answer:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await answer.text()).group(1)
    async with session.post(
        f"{base}/admin/login", data={"csrf_token": token, "name": "bench", "password": PASSWORD}, allow_redirects=False
    ) as answer:
        assert answer.status == 303, answer.status
    return session


async def admin_latencies(session: aiohttp.ClientSession, base: str, seconds: float) -> list[tuple[float, float]]:
    """GET /admin (signed in) ten times a second for `seconds`: (started, took) of each."""
    times = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        started = time.monotonic()
        async with session.get(f"{base}/admin") as answer:
            await answer.read()
            assert answer.status == 200, answer.status
        times.append((started, time.monotonic() - started))
        await asyncio.sleep(0.1)
    return times


async def probe_admin(base: str, seconds: float) -> None:
    """The admin prober's own process: its timings never wait behind the 2,000 readers'
    event loop (which, in one process, added that loop's lag to every admin answer)."""
    session = await signed_in(base)
    async with session.get(f"{base}/admin") as answer:  # its templates compile on the first one: not timed
        await answer.read()
    print(json.dumps(await admin_latencies(session, base, seconds)))
    await session.close()


async def admin_from_its_own_process(base: str, seconds: float) -> list[tuple[float, float]]:
    prober = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--probe-admin", base, str(seconds), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await prober.communicate()
    if prober.returncode:
        raise SystemExit(f"the admin prober failed (exit {prober.returncode})")
    return [(started, took) for started, took in json.loads(out)]  # CLOCK_MONOTONIC: one clock for both


async def post_incident(session: aiohttp.ClientSession, base: str) -> float:
    async with session.get(f"{base}/admin/incidents/new") as answer:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await answer.text()).group(1)
    posted = time.monotonic()
    async with session.post(
        f"{base}/admin/incidents/new",
        allow_redirects=False,
        data={
            "csrf_token": token,
            "title": TITLE,
            "impact": "major",
            "status": "investigating",
            "body": "Workers are being restarted.",
            "root_cause": "",
        },
    ) as answer:
        assert answer.status == 303, answer.status
    return posted


async def measure(base: str, pages: int, seconds: float) -> None:
    admin = await signed_in(base)
    baseline = [took for _, took in await admin_from_its_own_process(base, 5.0)]
    heading(f"{pages} open pages polling /api/live (2 s, jitter), {seconds:.0f} s")
    readers = [OpenPage(base) for _ in range(pages)]
    until = time.monotonic() + seconds
    tabs = [asyncio.ensure_future(reader.run(until)) for reader in readers]
    await asyncio.sleep(4.0)  # every page has polled once and knows its version
    loaded = asyncio.ensure_future(admin_from_its_own_process(base, seconds - 9.0))
    await asyncio.sleep(2.0)
    posted = await post_incident(admin, base)
    timed = await loaded
    under_load = [took for _, took in timed]
    await asyncio.gather(*tabs)
    await admin.close()
    if os.environ.get("BENCH_DEBUG"):
        print(sorted(((round(at - posted, 2), round(took * 1000)) for at, took in timed), key=lambda x: -x[1])[:12])
    reached = [reader.saw_incident_at - posted for reader in readers if reader.saw_incident_at]
    polls = sum(r.polls for r in readers)
    figure("polls answered", f"{polls}", f"{polls / seconds:.0f} per second")
    figure("  of them 304 Not Modified", f"{100 * sum(r.not_modified for r in readers) / max(1, polls):.1f}%")
    figure("  failed (then backed off)", f"{sum(r.errors for r in readers)}")
    figure(
        "admin p50 / p99, no pages open",
        f"{1000 * percentile(baseline, 0.5):.0f} / {1000 * percentile(baseline, 0.99):.0f} ms",
    )
    p99 = percentile(under_load, 0.99)
    figure(
        f"admin p50 / p99, {pages} pages open",
        f"{1000 * percentile(under_load, 0.5):.0f} / {1000 * p99:.0f} ms",
        f"goal p99 < 200 ms: {'met' if p99 < 0.2 else 'MISSED'}",
    )
    figure("  ratio p99 loaded / idle", f"{p99 / max(1e-6, percentile(baseline, 0.99)):.2f}")
    worst = max(reached) if reached else float("inf")
    figure("pages that got the incident", f"{len(reached)} of {pages}")
    figure(
        "update reached pages: p50 / p99 / max",
        f"{percentile(reached, 0.5):.1f} / {percentile(reached, 0.99):.1f} / {worst:.1f} s",
        f"goal every page < 5 s: {'met' if len(reached) == pages and worst < 5 else 'MISSED'}",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--probe-admin", nargs=2, metavar=("BASE", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_admin:
        asyncio.run(probe_admin(args.probe_admin[0], float(args.probe_admin[1])))
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.pages + 512)), hard))
    pin(os.getpid(), CLIENT_CORE)
    url = prepare()
    port = free_port()
    server = start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                import urllib.request

                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except Exception as exc:  # noqa: BLE001 (starting: refused or 503 without a runner)
                if getattr(exc, "code", None) == 503:
                    break
                time.sleep(0.1)
        asyncio.run(measure(base, args.pages, max(12.0, args.seconds)))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
