"""A real database outage while checks run: a cut TCP proxy in front of PostgreSQL, or
the SQLite file moved away. Checks and alerts go on; results are buffered to a bound
(the excess counted); everything is written once the database is back."""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from statuscore import MonitorState, Scheduler, Status, make_monitor, utcnow
from statuscore.alerts.slack import SlackConfig, SlackSink
from statuscore.testing import FakeClock
from statusweb.models import AlertOutbox, CheckResultRow, ServiceState, get_engine, get_session_factory
from statusweb.runner.sql_store import SqlStore
from tests.statusweb.helpers import T0, result, wait_for
from tests.targets import SEQUENCES, SlackShapedServer


class CuttableProxy:
    """Forwards 127.0.0.1:<port> (or `listen`:<port>) to a database; `cut()` drops every
    connection and refuses new ones, `restore()` listens again on the same port."""

    def __init__(self, target_port: int, listen: str = "127.0.0.1") -> None:
        self.target_port = target_port
        self.listen = listen
        self.port = 0
        self.server: asyncio.AbstractServer | None = None
        self.transports: list[asyncio.WriteTransport] = []

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    async def _handle(self, client_reader, client_writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self.transports += [client_writer.transport, upstream_writer.transport]
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._handle, self.listen, self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for transport in self.transports:
            transport.abort()
        self.transports.clear()
        await self.server.wait_closed()


@asynccontextmanager
async def cuttable_engine(engine, tmp_path):
    """(engine that can lose its database, cut, restore) for the backend of `engine`."""
    if engine.dialect.name == "postgresql":
        proxy = CuttableProxy(engine.url.port or 5432)
        await proxy.restore()
        url = engine.url.set(host="127.0.0.1", port=proxy.port)
        flaky = get_engine(url.render_as_string(hide_password=False), poolclass=NullPool)
        yield flaky, proxy.cut, proxy.restore
        await proxy.cut()
    else:
        path = engine.url.database
        flaky = get_engine(f"sqlite:///file:{path}?mode=rw&uri=true", poolclass=NullPool)
        moved = [(f"{path}{suffix}", str(tmp_path / f"away{suffix}")) for suffix in ("", "-wal", "-shm")]

        async def cut():
            for here, away in moved:
                if os.path.exists(here):
                    os.rename(here, away)

        async def restore():
            for here, away in moved:
                if os.path.exists(away):
                    os.rename(away, here)

        yield flaky, cut, restore
        await restore()
    flaky.dispose()


def rows(engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


async def test_outage_buffers_to_a_bound_keeps_alerting_and_writes_on_return(engine, tmp_path, target):
    base, app = target
    app[SEQUENCES]["site"] = [503]
    slack = SlackShapedServer()
    async with cuttable_engine(engine, tmp_path) as (flaky, cut, restore), slack.running() as hook:
        store = SqlStore(flaky, flush_interval=3600, max_buffered=5)
        site = make_monitor(name="Site", url=f"{base}/sequence/site", retries=0)
        await asyncio.to_thread(store.sync_services, [site])  # the proxy runs on this loop
        sink = SlackSink(SlackConfig(webhook_url=hook), instance_name="slack")
        scheduler = Scheduler([site], store=store, sinks=[sink], clock=FakeClock())
        await scheduler.start()

        await cut()
        await store.record(result("site", Status.UP, T0), MonitorState(status=Status.UP), [], [])
        assert not await store.flush()
        assert not store.database_ok

        results = await scheduler.check_once()  # DOWN, alerted while the database is away
        assert results[0].status is Status.DOWN
        assert [m["text"].split(":")[0] for m in slack.messages] == ["🔴  Service Down"]
        assert not await store.flush()  # waits for the flush the alert woke, which fails too
        for minute in range(1, 9):
            await store.record(
                result("site", Status.DOWN, T0.replace(minute=minute)), MonitorState(status=Status.DOWN), [], []
            )
        assert store.dropped_results == 10 - 5
        assert rows(engine, CheckResultRow) == 0

        await restore()
        assert await store.flush()
        assert store.database_ok
        assert rows(engine, CheckResultRow) == 5
        with get_session_factory(engine)() as session:
            assert session.scalars(select(ServiceState.status)).one() == "down"
            outbox = session.scalars(select(AlertOutbox)).one()
            assert outbox.kind == "down" and outbox.delivered_at is not None
        assert await store.pending_alerts(T0) == []
        await scheduler.close()
        await store.close()
    assert len(slack.messages) == 1


async def test_runner_waits_for_the_database_at_start(engine, tmp_path):
    from statusweb.runner.runner import Runner
    from statusweb.settings import RunnerSettings

    (tmp_path / "monitors.toml").write_text(
        '[[monitor]]\nname = "Site"\nurl = "http://127.0.0.1:9/"\nretries = 0\ntimeout = "200ms"\n'
    )
    async with cuttable_engine(engine, tmp_path) as (flaky, cut, restore):
        await cut()
        runner = Runner(
            RunnerSettings(database_url="unused", monitors_path=str(tmp_path / "monitors.toml")),
            engine=flaky,
            clock=FakeClock(),
        )
        run = asyncio.ensure_future(runner.run(once=True))
        await asyncio.sleep(0.3)  # minutes of retries in virtual time
        assert not run.done()  # still waiting for the database, not crashed
        await restore()
        results = await asyncio.wait_for(run, 10)
    assert results[0].status is Status.DOWN
    assert rows(engine, CheckResultRow) == 1


async def test_a_runner_waiting_for_the_database_stops_when_asked(engine, tmp_path):
    from statusweb.runner.runner import Runner
    from statusweb.settings import RunnerSettings

    (tmp_path / "monitors.toml").write_text('[[monitor]]\nname = "Site"\nurl = "http://127.0.0.1:9/"\n')
    async with cuttable_engine(engine, tmp_path) as (flaky, cut, restore):
        await cut()
        runner = Runner(
            RunnerSettings(database_url="unused", monitors_path=str(tmp_path / "monitors.toml")),
            engine=flaky,
            clock=FakeClock(),
        )
        run = asyncio.ensure_future(runner.run())
        await asyncio.sleep(0.3)
        runner.stop()
        assert await asyncio.wait_for(run, 3) == []


def outage_config(tmp_path, db_url: str, target_url: str, hook: str) -> str:
    from tests.statusweb.runner.test_runner import write_config

    ini = write_config(tmp_path, db_url, target_url, hook)
    with open(ini, "a") as file:
        file.write(f"statusweb.spool_dir = {tmp_path / 'spool'}\n")
    return ini


def count(engine, query) -> int:
    with get_session_factory(engine)() as session:
        return session.scalar(query) or 0


@pytest.mark.slow
@pytest.mark.parametrize("migrated_engine", ["postgresql"], indirect=True)
async def test_alerts_go_on_through_a_database_cut_and_a_runner_killed_meanwhile_loses_nothing(
    engine, tmp_path, target, runner_processes
):
    """`run-checks` on PostgreSQL behind a proxy. The database is cut; the site goes down:
    the DOWN still reaches the receiver at once, saying it was sent while the status
    database was unreachable, and the runner spools what it sees. It is killed (-9) during
    the cut. The database returns; the next runner writes the spool (results, the state,
    the delivered DOWN), so it sends no second DOWN, and the RECOVERED comes once."""
    from tests.statusweb.runner.test_runner import RunnerProcess
    from tests.targets import KeyedReceiver

    base, app = target
    app[SEQUENCES]["site"] = [200]
    receiver = KeyedReceiver()
    proxy = CuttableProxy(engine.url.port or 5432)
    await proxy.restore()
    url = engine.url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    spool = tmp_path / "spool"
    async with receiver.running() as hook:
        ini = outage_config(tmp_path, url, f"{base}/sequence/site", hook)
        first = RunnerProcess(ini, "", tmp_path / "first.log")
        runner_processes.append(first)
        await first.start()
        await wait_for(lambda: count(engine, select(func.count()).select_from(CheckResultRow)) >= 2, 20)
        await proxy.cut()
        cut_at = utcnow()
        app[SEQUENCES]["site"] = [503]
        await wait_for(lambda: receiver.news() == [("down", "Site")], 15)
        [down_key] = {key for _, key, _, _ in receiver.arrivals}
        assert "sent while the status database was unreachable" in receiver.notes[down_key]
        await wait_for(
            lambda: any(spool.glob("*.jsonl")) and sum(path.stat().st_size for path in spool.glob("*.jsonl")) > 0, 10
        )
        await asyncio.sleep(2)  # a few more results spooled
        await first.kill()
        await proxy.restore()
        second = RunnerProcess(ini, "", tmp_path / "second.log")
        runner_processes.append(second)
        await second.start()
        await wait_for(lambda: not any(spool.glob("*.jsonl")), 20)  # written, and removed
        with get_session_factory(engine)() as session:
            outbox = session.scalars(select(AlertOutbox).where(AlertOutbox.kind == "down")).one()
            assert outbox.delivered_at is not None and outbox.id == down_key
            spooled = session.scalar(
                select(func.count())
                .select_from(CheckResultRow)
                .where(CheckResultRow.checked_at >= cut_at, CheckResultRow.status == "down")
            )
        assert spooled >= 2, "the results checked during the cut were written"
        await asyncio.sleep(2)  # the second runner checks the site, still down: no new DOWN
        app[SEQUENCES]["site"] = [200]
        await wait_for(lambda: len(receiver.news()) >= 2, 15)
        await asyncio.sleep(2)
        assert await second.stop() == 0
    await proxy.cut()
    logs = "".join(f"===== {name} =====\n{(tmp_path / name).read_text()}" for name in ("first.log", "second.log"))
    assert receiver.news() == [("down", "Site"), ("recovered", "Site")], logs
    assert not receiver.unexplained_repeats(first.killed_at), logs
    assert "records that a runner killed during a database outage left in its spool" in logs
