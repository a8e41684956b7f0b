"""The runner survives kill -9: `statusweb-admin run-checks` as a real process, killed
ten times at moments drawn from a fixed seed while an outage starts and ends, sends one
DOWN and one RECOVERED, each repeated at most where a kill between the receiver's answer
and the runner's commit explains it (same Idempotency-Key, a kill just after)."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time

import pytest

from tests.statusweb.helpers import wait_for
from tests.targets import SEQUENCES, KeyedReceiver

KILL_SEED = int(os.environ.get("STATUS_TEST_KILL_SEED", "20261206"))  # another seed: set it to try


def write_config(tmp_path, db_url: str, target_url: str, hook: str = "") -> str:
    monitors = tmp_path / "monitors.toml"
    sink = f'[[alert]]\ntype = "webhook"\nurl = "{hook}"\n' if hook else ""
    monitors.write_text(f'''
status_page_url = "https://status.test"
{sink}
[[monitor]]
name = "Site"
url = "{target_url}"
interval = "1s"
timeout = "1s"
retries = 0
''')
    ini = tmp_path / "runner.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {db_url}\n"
        f"statuscore.monitors = {monitors}\nstatusweb.heartbeat_interval = 1\n"
    )
    return str(ini)


class RunnerProcess:
    def __init__(
        self, ini: str, hook: str, log_path, *, prefix: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> None:
        self.ini = ini
        self.prefix = prefix  # e.g. ("ip", "netns", "exec", name): the runner in another network
        # PYTHONFAULTHANDLER: a runner that dies of a signal or a fatal error says where, in its log
        self.env = {**os.environ, "PYTHONFAULTHANDLER": "1", "SLACK_WEBHOOK_URL": hook, **(env or {})}
        self.log = open(log_path, "ab")
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0
        self.killed_at: list[float] = []  # loop times: which repeats a kill explains

    async def start(self) -> None:
        self.log.flush()
        self.started_at = self.log.tell()  # where this start's lines begin in the log
        self.process = await asyncio.create_subprocess_exec(
            *self.prefix,
            sys.executable,
            "-m",
            "statusweb.cli",
            "run-checks",
            self.ini,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            # Its own session: a SIGSTOPped runner in the test's process group died of SIGHUP
            # (returncode -1) one run in seven, the kernel's rule for a stopped process in a
            # process group that becomes orphaned; a process of another session never gets it.
            start_new_session=True,
        )

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no cleanup of any kind
        self.killed_at.append(asyncio.get_running_loop().time())
        await self.process.wait()
        self.kills += 1
        self.log.write(b"\n===== SIGKILL =====\n")
        self.log.flush()

    async def running(self, timeout: float = 30) -> None:
        """Until this start has its signal handlers (it says so): a SIGTERM before that
        ends the process as any program's start-up would (-15), on a busy machine after
        seconds of imports."""
        deadline = time.monotonic() + timeout
        while b"stops cleanly" not in self.log_since_start():
            assert self.process is not None and self.process.returncode is None, "the runner died starting"
            assert time.monotonic() < deadline, f"the runner did not start within {timeout} s"
            await asyncio.sleep(0.1)

    def log_since_start(self) -> bytes:
        with open(self.log.name, "rb") as log:
            log.seek(self.started_at)
            return log.read()

    async def stop(self) -> int:
        assert self.process is not None
        await self.running()
        self.process.terminate()
        return await asyncio.wait_for(self.process.wait(), 30)


@pytest.mark.slow
async def test_sigkill_ten_times_through_an_outage_alerts_once_each_way_but_for_explained_repeats(
    db_url, tmp_path, target, runner_processes
):
    base, app = target
    rng = random.Random(KILL_SEED)
    app[SEQUENCES]["site"] = [200]
    receiver = KeyedReceiver()
    async with receiver.running() as hook:
        runner = RunnerProcess(
            write_config(tmp_path, db_url, f"{base}/sequence/site", hook), "", tmp_path / "runner.log"
        )
        runner_processes.append(runner)
        await runner.start()
        await asyncio.sleep(2)

        async def phase(code: int, kills: int, settle: float) -> None:
            app[SEQUENCES]["site"] = [code]
            for _ in range(kills):
                await asyncio.sleep(rng.uniform(0.2, 2.0))
                await runner.kill()
                await runner.start()
            await asyncio.sleep(settle)  # a runner that lives long enough to see the state

        await phase(200, kills=3, settle=0.5)
        await phase(503, kills=4, settle=0.0)
        # a runner that lives long enough to see the outage (starting takes seconds on a busy machine)
        deadline = time.monotonic() + 30
        while not receiver.news() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await phase(200, kills=3, settle=0.0)
        deadline = time.monotonic() + 30
        while len(receiver.news()) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(3)  # room for a duplicate to show itself
        assert await runner.stop() == 0
    log = (tmp_path / "runner.log").read_text()
    assert runner.kills == 10
    assert receiver.news() == [("down", "Site"), ("recovered", "Site")], f"seed {KILL_SEED}\n{log}"
    assert not receiver.unexplained_repeats(runner.killed_at), f"seed {KILL_SEED}\n{log}"


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)  # PostgreSQL shares: test_cluster.py
async def test_one_runner_per_database_and_a_standby_takes_over_when_it_dies(
    db_url, engine, tmp_path, target, runner_processes
):
    from statusweb.pages.queries import heartbeat_holder

    base, _ = target
    ini = write_config(tmp_path, db_url, f"{base}/ok")
    first = RunnerProcess(ini, "http://127.0.0.1:9/unused", tmp_path / "first.log")
    second = RunnerProcess(ini, "http://127.0.0.1:9/unused", tmp_path / "second.log")
    runner_processes.extend([first, second])
    await first.start()
    holder = await wait_for(lambda: heartbeat_holder(engine), 20)
    assert holder.endswith(f":{first.process.pid}")
    await second.start()
    await wait_for(lambda: "standing by" in (tmp_path / "second.log").read_text(), 20)
    assert heartbeat_holder(engine).endswith(f":{first.process.pid}")
    await first.kill()
    started = time.monotonic()
    await wait_for(lambda: heartbeat_holder(engine).endswith(f":{second.process.pid}"), 10)
    assert time.monotonic() - started < 2 * 1.0 + 1.5  # within two intervals (1 s), plus start-up slack
    assert await second.stop() == 0


def test_a_released_lock_is_free_for_the_next_runner_in_the_same_process(engine):
    """The PostgreSQL lock (for the once-only duties when runners share) lives in a session: handing its connection back to the pool
    kept it held, so a runner thread restarted inside the web process stood by forever."""
    from statusweb.runner.lock import lock_for

    first, second = lock_for(engine), lock_for(engine)
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    # release() drops the connection without SQL; the server ends that session (and frees
    # the lock) on its own time, a few milliseconds, longer on a loaded machine.
    deadline = time.monotonic() + 10
    while not second.try_acquire():
        assert time.monotonic() < deadline, "the lock was still held 10 s after its session was dropped"
        time.sleep(0.05)
    second.release()
