"""The runner's spool during a database outage: bounded, readable after a crash cut a
line short, adopted only from dead processes of this host and this database, and
written back (results, newer states only, alerts delivered or not); both databases."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import func, select

from statuscore import MonitorState, Status, make_monitor
from statusweb.models import AlertOutbox, CheckResultRow, ServiceState, get_session_factory
from statusweb.runner.spool import Spool, read_spool
from statusweb.runner.sql_store import OUTAGE_NOTE, SqlStore
from tests.statusweb.helpers import T0, alert_for, result
from tests.statusweb.runner.test_outage import cuttable_engine


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_spool_is_bounded_for_results_only_and_survives_a_line_cut_short(tmp_path):
    spool = Spool(tmp_path, "postgresql://x@127.0.0.1/db", max_bytes=400)
    for minute in range(10):
        spool.append({"result": {"slug": "site", "checked_at": T0 + timedelta(minutes=minute)}}, droppable=True)
    spool.append({"state": {"slug": "site", "status": "down"}})
    assert spool.dropped > 0 and spool.size <= 400 + 200  # the state is kept past the bound
    with open(spool.path, "a") as file:
        file.write('{"alert": {"id": "site:down')  # the process died in the middle of a line
    batch = read_spool(spool.path)
    assert len(batch.results) == 10 - spool.dropped and batch.states["site"] == {"status": "down"}
    assert batch.results[0] == ("site", {"checked_at": T0})
    spool.clear()
    assert not spool.path.exists() and spool.size == 0


def test_only_files_of_dead_processes_of_this_host_and_database_are_adopted(tmp_path):
    spool = Spool(tmp_path, "sqlite:///var/statusweb.sqlite")
    host = socket.gethostname()
    dead, tag = dead_pid(), spool.tag
    files = {
        name: tmp_path / name
        for name in (
            f"{tag}.{host}.{dead}.jsonl",  # ours to adopt
            f"{tag}.{host}.{os.getppid()}.jsonl",  # a live process (pytest's parent)
            f"{tag}.other-host.{dead}.jsonl",  # another machine's (a shared folder)
            f"0123456789ab.{host}.{dead}.jsonl",
        )
    }  # another database's
    for path in files.values():
        path.write_text('{"delivered": "x", "at": {"$t": "2026-02-08T14:00:00+00:00"}}\n')
    [adopted] = spool.adopt_orphans()
    assert adopted.name.startswith(f"{tag}.{host}.{os.getpid()}-") and adopted.exists()
    assert not files[f"{tag}.{host}.{dead}.jsonl"].exists()
    assert all(path.exists() for name, path in files.items() if name != f"{tag}.{host}.{dead}.jsonl")
    assert Spool(tmp_path, "sqlite:///var/statusweb.sqlite").adopt_orphans() == []  # ours now: not again


async def test_what_a_killed_runner_spooled_during_an_outage_is_written_by_the_next(engine, tmp_path):
    site = make_monitor(name="Site", url="http://127.0.0.1:9/", retries=0)
    other = make_monitor(name="Other", url="http://127.0.0.1:9/", retries=0)
    async with cuttable_engine(engine, tmp_path) as (flaky, cut, restore):
        first = SqlStore(flaky, flush_interval=3600, spool=Spool(tmp_path / "spool", "db"))
        await asyncio.to_thread(first.sync_services, [site, other])  # the proxy runs on this loop
        later = result("other", Status.UP, T0 + timedelta(hours=1))
        await first.record(later, MonitorState(status=Status.UP, last_result=later), [], [])
        assert await first.flush()
        await cut()
        down = alert_for("site", "down", T0)
        await first.record(result("site", Status.DOWN, T0), MonitorState(status=Status.DOWN, since=T0), [], [down])
        assert not await first.flush() and not first.database_ok
        [pending] = await first.pending_alerts(T0)
        assert pending.id == down.id and pending.note == OUTAGE_NOTE  # sent from memory, saying so
        await first.mark_delivered(down.id, T0 + timedelta(seconds=1))
        for minute in (1, 2):
            checked = result("site", Status.DOWN, T0 + timedelta(minutes=minute))
            await first.record(checked, MonitorState(status=Status.DOWN, since=T0, last_result=checked), [], [])
        # an older state of Other, spooled: the stored one (checked later) must win
        older = result("other", Status.DOWN, T0)
        await first.record(older, MonitorState(status=Status.DOWN, since=T0, last_result=older), [], [])
        assert first.spool is not None and first.spool.records >= 6
        # kill -9: nothing is closed; the file is left under a dead process's name
        left = f"{first.spool.tag}.{socket.gethostname()}.{dead_pid()}.jsonl"
        os.rename(first.spool.path, first.spool.path.with_name(left))
        await restore()
    second = SqlStore(engine, spool=Spool(tmp_path / "spool", "db"))
    second.sync_services([site, other])
    [path] = second.spool.adopt_orphans()
    assert second.replay_spool(path) >= 6 and not path.exists()
    with get_session_factory(engine)() as session:
        rows = session.execute(
            select(func.count()).select_from(CheckResultRow).where(CheckResultRow.status == "down")
        ).scalar_one()
        states = dict(session.execute(select(ServiceState.service_id, ServiceState.status)).all())
        outbox = session.scalars(select(AlertOutbox)).one()
    assert rows == 4  # the three results of Site and the old one of Other: history, not state
    assert states[second.service_ids["site"]] == "down"
    assert states[second.service_ids["other"]] == "up"  # not overwritten by an older state
    assert outbox.id == down.id and outbox.delivered_at is not None
    await second.close()


def test_a_spool_that_cannot_be_written_says_so_once_and_counts_what_it_lost(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the spool's folder should be")
    spool = Spool(blocked, "db")
    for minute in range(5):
        spool.append({"result": {"slug": "site", "checked_at": T0 + timedelta(minutes=minute)}}, droppable=True)
    assert spool.dropped == 5 and spool.records == 0
    assert len([r for r in caplog.records if "not written" in r.getMessage()]) == 1
