"""What the benchmarks share: a local target in its own process (pinned to the other
core), CPU accounting, and figures printed the same way. Only 127.0.0.1, always."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("STATUS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# the database bench/history.py fills and bench/page.py and bench/admin_history.py read
HISTORY_DATABASE = os.environ.get("STATUS_BENCH_HISTORY_DATABASE", "statusweb_bench")
NEEDS_FIRST = 2  # the exit status of a benchmark that needs another one (or a tool) first
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
CLIENT_CORE, TARGET_CORE = 0, 1

TARGET_APP = textwrap.dedent("""
    import sys
    from aiohttp import web

    async def ok(request):
        return web.Response(text='{"ok": true, "he": ["x"]}', content_type="application/json")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/health", ok)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pin(pid: int, core: int) -> None:
    """Keep client and target off each other's core (no-op with one core)."""
    if os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(pid, {core})


def cpu_seconds(pid: int | None = None, tid: int | None = None) -> float:
    """User + system CPU seconds of this process (or of `pid`), threads included; or of
    the one thread `tid` of `pid` (its main thread: tid == pid)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    stat = Path(f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def target_server() -> Iterator[tuple[str, str]]:
    """(base URL, kind): nginx when installed, else an aiohttp server, in its own
    process on the target core."""
    with target_servers(1) as (bases, kind):
        yield bases[0], kind


@contextlib.contextmanager
def target_servers(ports: int) -> Iterator[tuple[list[str], str]]:
    """([base URL per port], kind): one target answering on `ports` ports (nginx, one
    worker, when installed; else one aiohttp server per port), so a client opening
    hundreds of thousands of connections a minute never runs out of one port's
    ephemeral source ports and the client, not the target, is what is measured."""
    numbers = [free_port() for _ in range(ports)]
    if shutil.which("nginx"):
        conf = Path(f"/tmp/bench-nginx-{numbers[0]}.conf")
        listens = " ".join(f"listen 127.0.0.1:{port} backlog=4096;" for port in numbers)
        conf.write_text(
            f"daemon off; worker_processes 1; error_log /dev/null; pid /tmp/bench-nginx-{numbers[0]}.pid;"
            f"events {{ worker_connections 65536; }} worker_rlimit_nofile 70000; http {{ access_log off; "
            f"server {{ {listens} keepalive_requests 100000; "
            f'location / {{ default_type application/json; return 200 \'{{"ok": true, "he": ["x"]}}\'; }} }} }}'
        )
        processes = [subprocess.Popen(["nginx", "-c", str(conf)])]
        kind = "nginx"
    else:
        processes = [subprocess.Popen([sys.executable, "-c", TARGET_APP, str(port)]) for port in numbers]
        kind = "aiohttp server"
    for process in processes:
        pin(process.pid, TARGET_CORE)
    for port in numbers:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            time.sleep(0.05)
    try:
        yield [f"http://127.0.0.1:{port}" for port in numbers], kind
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(10)


def fresh_pg_database(name: str) -> str:
    """An empty PostgreSQL database `name` (dropped first if a run left it); its URL."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def history_database_url() -> str:
    """bench/history.py's PostgreSQL database, or exit 2 saying to run it first when it
    is missing or holds no services (a benchmark runs alone or says what it needs)."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import DBAPIError

    url = make_url(PG_URL).set(database=HISTORY_DATABASE).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            services = connection.execute(text("SELECT count(*) FROM service")).scalar_one()
    except DBAPIError as exc:
        problem = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        services = 0
    else:
        problem = "it holds no services"
    finally:
        engine.dispose()
    if not services:
        needs_first(
            f"the history database {HISTORY_DATABASE!r} is not ready ({problem}): run "
            "`.venv/bin/python bench/history.py` first (it fills it, a few minutes), then this again"
        )
    return url


def needs_first(message: str) -> None:
    print(f"{Path(sys.argv[0]).name}: {message}", file=sys.stderr, flush=True)
    raise SystemExit(NEEDS_FIRST)


def rss_mb(pid: int | None = None) -> float:
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    line = next(l for l in status.splitlines() if l.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def heading(text: str) -> None:
    print(f"\n== {text} ==", flush=True)


def figure(label: str, value: str, goal: str = "") -> None:
    print(f"  {label:<48} {value:>14}  {goal}".rstrip(), flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
