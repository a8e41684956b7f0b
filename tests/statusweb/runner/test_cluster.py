"""Three `statusweb-admin run-checks` processes on the real PostgreSQL share the
monitors through leases: an even split, a kill -9 taken over within two intervals, a
SIGSTOPped runner whose late writes are refused, and random kills through an outage
that still send exactly one DOWN and one RECOVERED per monitor."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time

import pytest
from aiohttp import web
from sqlalchemy import func, select

from statuscore.testing import serve_app
from statusweb.models import CheckResultRow, MonitorLease, Service, ServiceState, get_session_factory
from statusweb.pages.queries import members
from tests.statusweb.helpers import wait_for
from tests.statusweb.runner.test_runner import KILL_SEED, RunnerProcess
from tests.targets import KeyedReceiver

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("migrated_engine", ["postgresql"], indirect=True)]

INTERVAL = 2.0
HEARTBEAT = 0.5  # leases expire after two heartbeats: 1 s
SLUGS = [f"m{i}" for i in range(9)]


class GatedTarget:
    """One path per monitor; a monitor in `hanging` gets no answer (its request waits)."""

    def __init__(self) -> None:
        self.hanging: set[str] = set()
        self.waiting: dict[str, int] = {}
        self.down: set[str] = set()
        self.app = web.Application()
        self.app.router.add_get("/m/{slug}", self._get)

    async def _get(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        if slug in self.hanging:
            self.waiting[slug] = self.waiting.get(slug, 0) + 1
            await asyncio.sleep(60)
        return web.Response(status=503 if slug in self.down else 200, text="ok")


def write_cluster_config(
    tmp_path,
    db_url: str,
    base: str,
    slugs=SLUGS,
    interval=INTERVAL,
    hook: str | None = None,
    heartbeat: float = HEARTBEAT,
) -> str:
    """With `hook`, each monitor alerts through a webhook sink of its own (all posting to
    `hook`), so no grouping of DOWNs holds a message back."""
    monitors = tmp_path / "monitors.toml"
    sinks = (
        "".join(f'[[alert]]\ntype = "webhook"\nname = "hook-{slug}"\nurl = "{hook}"\n\n' for slug in slugs)
        if hook
        else ""
    )
    monitors.write_text(
        'status_page_url = "https://status.test"\n'
        + sinks
        + "".join(
            f'''
[[monitor]]
name = "{slug}"
url = "{base}/m/{slug}"
interval = "{interval}s"
timeout = "1.5s"
retries = 0
{f'alerts = ["hook-{slug}"]' if hook else ""}
'''
            for slug in slugs
        )
    )
    ini = tmp_path / "cluster.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {db_url}\n"
        f"statuscore.monitors = {monitors}\nstatusweb.heartbeat_interval = {heartbeat}\n"
    )
    return str(ini)


def shares(engine) -> dict[str, set[str]]:
    """member id -> the slugs whose lease it holds (live holders only)."""
    live = {m["id"] for m in members(engine) if m["age_s"] < 2 * HEARTBEAT}
    with get_session_factory(engine)() as session:
        rows = session.execute(select(MonitorLease.holder, Service.slug).join(Service)).all()
    held: dict[str, set[str]] = {member: set() for member in live}
    for holder, slug in rows:
        if holder in held:
            held[holder].add(slug)
    return held


def member_of(engine, runner: RunnerProcess) -> str:
    assert runner.process is not None
    return next(m["id"] for m in members(engine) if m["id"].split(":")[1] == str(runner.process.pid))


def last_checked(engine) -> dict[str, object]:
    with get_session_factory(engine)() as session:
        rows = session.execute(
            select(Service.slug, func.max(CheckResultRow.checked_at)).join(CheckResultRow).group_by(Service.slug)
        ).all()
    return dict(rows)


def even(held: dict[str, set[str]], runners: int) -> bool:
    return (
        len(held) == runners
        and sorted(len(s) for s in held.values())[-1] - min(len(s) for s in held.values()) <= 1
        and sum(len(s) for s in held.values()) == len(SLUGS)
    )


async def start_all(tmp_path, ini: str, count: int, made: list, hook: str = "http://127.0.0.1:9/unused"):
    runners = [RunnerProcess(ini, hook, tmp_path / f"runner{i}.log") for i in range(count)]
    made.extend(runners)
    for runner in runners:
        await runner.start()
    return runners


async def test_three_runners_split_evenly_survive_kill_9_and_refuse_a_paused_runners_writes(
    engine, db_url, tmp_path, runner_processes
):
    gated = GatedTarget()
    async with serve_app(gated.app) as base:
        ini = write_cluster_config(tmp_path, db_url, base)
        runners = await start_all(tmp_path, ini, 3, runner_processes)
        held = await wait_for(lambda: (h := shares(engine)) and even(h, 3) and h, 30)
        assert sorted(len(s) for s in held.values()) == [3, 3, 3]

        # kill -9 one: the other two check its monitors within two intervals.
        victim = runners[0]
        theirs = held[member_of(engine, victim)]
        await wait_for(lambda: set(last_checked(engine)) >= set(SLUGS), 20)
        await victim.kill()
        killed_at = time.monotonic()
        killed_wall = max(last_checked(engine)[slug] for slug in theirs)
        await wait_for(lambda: all(last_checked(engine)[slug] > killed_wall for slug in theirs), 4 * INTERVAL)
        taken_over = time.monotonic() - killed_at
        assert taken_over < 2 * INTERVAL + 0.5, f"checked again {taken_over:.1f} s after kill -9"
        await wait_for(lambda: even(shares(engine), 2), 10)

        # It comes back: only its share moves back to it.
        before = shares(engine)
        await victim.start()
        after = await wait_for(lambda: (h := shares(engine)) and even(h, 3) and h, 20)
        moved = sum(len(before[m] - after.get(m, set())) for m in before)
        assert moved == 3

        # SIGSTOP one with checks in flight, for three intervals: the others take over;
        # after SIGCONT its checks end (timed out) and every one of those writes is refused.
        paused = runners[1]
        paused_id = member_of(engine, paused)
        paused_slugs = shares(engine)[paused_id]
        gated.hanging = set(paused_slugs)
        hung = await wait_for(lambda: {slug for slug in paused_slugs if gated.waiting.get(slug)}, 2 * INTERVAL)
        assert paused.process is not None
        os.kill(paused.process.pid, signal.SIGSTOP)  # a check in flight, well inside its 1.5 s timeout
        gated.hanging = set()
        try:
            await wait_for(lambda: not (shares(engine).get(paused_id)) and even(shares(engine), 2), 10)
            await asyncio.sleep(3 * INTERVAL - 1)
        finally:
            try:
                os.kill(paused.process.pid, signal.SIGCONT)
            except ProcessLookupError:  # it died while stopped, or just before: say how, with its log
                await paused.process.wait()
                log = (tmp_path / "runner1.log").read_text()
                raise AssertionError(f"the paused runner exited ({paused.process.returncode}):\n{log}") from None
        # at least the timed-out result of each check it had in flight (counted on its next heartbeats)
        await wait_for(lambda: any(m["id"] == paused_id and m["refused"] >= len(hung) for m in members(engine)), 10)
        assert "refused" in (tmp_path / "runner1.log").read_text()
        await wait_for(lambda: even(shares(engine), 3), 20)
        with get_session_factory(engine)() as session:
            late = session.execute(
                select(Service.slug, CheckResultRow.checked_at, CheckResultRow.error)
                .join(Service)
                .where(CheckResultRow.status != "up")
            ).all()
            assert late == []  # no late timeout got in
            assert set(session.scalars(select(ServiceState.status))) == {"up"}
        for runner in runners:
            assert await runner.stop() == 0


def holders(engine) -> dict[str, set[str]]:
    """holder -> the slugs whose lease it holds, whatever its beat says."""
    with get_session_factory(engine)() as session:
        rows = session.execute(select(MonitorLease.holder, Service.slug).join(Service)).all()
    held: dict[str, set[str]] = {}
    for holder, slug in rows:
        if holder is not None:
            held.setdefault(holder, set()).add(slug)
    return held


async def test_a_killed_runner_is_replaced_within_5_s_long_before_its_lease_would_lapse(
    engine, db_url, tmp_path, runner_processes
):
    """Heartbeats 6 s apart, so a lease lasts 12 s: after kill -9 the survivor checks the
    victim's monitors within 5 s, because PostgreSQL drops the victim's liveness lock with
    its session and the survivor looks for that every second."""
    gated = GatedTarget()
    async with serve_app(gated.app) as base:
        ini = write_cluster_config(tmp_path, db_url, base, interval=1.0, heartbeat=6.0)
        runners = await start_all(tmp_path, ini, 2, runner_processes)
        held = await wait_for(lambda: (h := holders(engine)) and len(h) == 2 and h, 40)
        await wait_for(lambda: set(last_checked(engine)) >= set(SLUGS), 20)
        victim = runners[0]
        theirs = held[member_of(engine, victim)]
        await victim.kill()
        killed_at = time.monotonic()
        killed_wall = max(last_checked(engine)[slug] for slug in theirs)
        await wait_for(lambda: all(last_checked(engine)[slug] > killed_wall for slug in theirs), 12)
        taken_over = time.monotonic() - killed_at
        log = (tmp_path / "runner1.log").read_text()
        print(f"\nchecked again {taken_over:.1f} s after kill -9 (lease time 12 s)")
        assert taken_over < 5.0, f"checked again {taken_over:.1f} s after kill -9\n{log}"
        assert "gone (their database session ended): taking over their monitors" in log
        assert await runners[1].stop() == 0


async def test_kill_9s_of_three_runners_through_an_outage_alert_once_per_monitor_but_for_explained_repeats(
    engine, db_url, tmp_path, runner_processes
):
    rng = random.Random(KILL_SEED)
    gated = GatedTarget()
    slugs = ["a", "b", "c"]
    receiver = KeyedReceiver()
    async with serve_app(gated.app) as base, receiver.running() as hook:
        ini = write_cluster_config(tmp_path, db_url, base, slugs=slugs, interval=1.0, hook=hook)
        runners = await start_all(tmp_path, ini, 3, runner_processes, "")
        await wait_for(lambda: set(last_checked(engine)) >= set(slugs), 20)

        async def phase(down: bool, kills: int, settle: float) -> None:
            gated.down = set(slugs) if down else set()
            for _ in range(kills):
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                runner = rng.choice(runners)
                await runner.kill()
                await runner.start()
            await asyncio.sleep(settle)

        await phase(False, kills=2, settle=0.5)
        await phase(True, kills=4, settle=0.0)
        # runners that live long enough to see the outage (starting takes seconds on a busy machine)
        await wait_for(lambda: len(receiver.news()) >= len(slugs), 30)
        await phase(False, kills=3, settle=0.0)
        await wait_for(lambda: len(receiver.news()) >= 2 * len(slugs), 30)
        await asyncio.sleep(3)  # room for a duplicate to show itself
        for runner in runners:
            assert await runner.stop() == 0
    logs = "\n".join(f"===== runner {i} =====\n" + (tmp_path / f"runner{i}.log").read_text() for i in range(3))
    expected = sorted([("down", s) for s in slugs] + [("recovered", s) for s in slugs])
    assert sorted(receiver.news()) == expected, f"seed {KILL_SEED}: {receiver.news()}\n{logs}"
    for slug in slugs:  # each monitor's own order
        assert [event for event, monitor in receiver.news() if monitor == slug] == ["down", "recovered"]
    kills = [at for runner in runners for at in runner.killed_at]
    assert not receiver.unexplained_repeats(kills), f"seed {KILL_SEED}\n{logs}"
