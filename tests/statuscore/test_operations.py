"""Maintenance windows, push monitors, check-now and SLA keys in statuscore alone
(no database): the scheduler on a fake clock against real local targets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from statuscore import (
    ConfigError,
    MaintenanceCalendar,
    MaintenanceWindow,
    MemoryPushLedger,
    Scheduler,
    Status,
    TransitionKind,
    make_monitor,
)
from statuscore.alerts.slack import SlackConfig, SlackSink
from statuscore.testing import FakeClock
from tests.targets import SEQUENCES, SlackShapedServer

TOKEN = "export-job-token-0123456789abcdef"


async def test_a_window_records_maintenance_and_alerts_nobody_and_an_outage_after_it_is_alerted(target):
    base, app = target
    app[SEQUENCES]["site"] = [200] * 2 + [503] * 6
    clock = FakeClock()
    start = clock.now()
    calendar = MaintenanceCalendar(
        [MaintenanceWindow("Deploy", start + timedelta(minutes=2), start + timedelta(minutes=5), frozenset({"site"}))]
    )
    slack = SlackShapedServer()
    results, transitions = [], []
    async with slack.running() as hook:
        sink = SlackSink(SlackConfig(webhook_url=hook), instance_name="slack")
        scheduler = Scheduler(
            [make_monitor(name="Site", url=f"{base}/sequence/site", retries=0, interval="60s")],
            sinks=[sink],
            clock=clock,
            maintenance=calendar,
            on_result=results.append,
            on_transition=transitions.append,
        )
        await scheduler.run(duration=8 * 60)
    assert [r.status for r in results] == [Status.UP, Status.UP] + [Status.MAINTENANCE] * 3 + [Status.DOWN] * 3
    assert results[2].error.startswith("maintenance: Deploy (the check said down: ")
    assert [t.kind for t in transitions] == [TransitionKind.FIRST, TransitionKind.MAINTENANCE, TransitionKind.DOWN]
    assert [m["text"].split(":")[0] for m in slack.messages] == ["🔴  Service Down"]


async def test_a_window_for_other_services_leaves_this_one_alone(target):
    base, _ = target
    clock = FakeClock()
    calendar = MaintenanceCalendar(
        [MaintenanceWindow("DB", clock.now(), clock.now() + timedelta(hours=1), frozenset({"other"}))]
    )
    results = []
    scheduler = Scheduler(
        [make_monitor(name="Site", url=f"{base}/ok", retries=0)],
        clock=clock,
        maintenance=calendar,
        on_result=results.append,
    )
    await scheduler.run(duration=120)
    assert {r.status for r in results} == {Status.UP}


async def test_push_monitor_waits_then_is_down_without_a_push_up_with_one_and_down_when_the_job_says_so():
    clock = FakeClock()
    ledger = MemoryPushLedger()
    monitor = make_monitor(
        name="Export", type="push", token=TOKEN, expect_every="1h", grace="10m", interval="5m", retries=0
    )
    results = []
    scheduler = Scheduler([monitor], clock=clock, pushes=ledger, on_result=results.append)
    await scheduler.start()
    [first] = await scheduler.check_once()
    assert first.status is Status.UNKNOWN and first.error == (
        "waiting for its first push (expected every 1 h + 10 min grace)"
    )
    assert first.as_dict()["latency_ms"] is None
    clock.advance(70 * 60 + 1)
    none_came = await scheduler.check_now("export")
    assert none_came.status is Status.DOWN and none_came.error == (
        "no push received yet (expected every 1 h + 10 min grace)"
    )
    ledger.push("export", clock.now(), ping_ms=840)
    pushed = await scheduler.check_now("export")
    assert pushed.status is Status.UP and pushed.latency_ms == 840
    clock.advance(70 * 60 + 1)
    late = await scheduler.check_now("export")
    assert late.status is Status.DOWN and late.error.startswith("no push for 1 h 10 min (expected every 1 h")
    ledger.push("export", clock.now(), status="down", message="disk full")
    said = await scheduler.check_now("export")
    assert said.status is Status.DOWN and said.error == "the job reported down: disk full"
    assert await scheduler.check_now("nope") is None
    await scheduler.close()


async def test_a_push_monitors_alert_says_when_the_job_last_reported_not_an_http_code():
    clock = FakeClock()
    ledger = MemoryPushLedger()
    monitor = make_monitor(name="Export", type="push", token=TOKEN, expect_every="1h", interval="5m", retries=0)
    slack = SlackShapedServer()
    async with slack.running() as hook:
        scheduler = Scheduler(
            [monitor],
            clock=clock,
            pushes=ledger,
            sinks=[SlackSink(SlackConfig(webhook_url=hook), instance_name="slack")],
        )
        await scheduler.start()
        ledger.push("export", clock.now())
        pushed_at = clock.now()
        await scheduler.check_once()
        clock.advance(61 * 60)
        await scheduler.check_once()
        await scheduler.notifier.deliver_due()
        await scheduler.close()
    [down] = [m["text"] for m in slack.messages]
    assert down.startswith("🔴  Service Down: Export (Status: DOWN, Since: ")
    assert f"Last push: {pushed_at:%Y-%m-%d %H:%M:%S} UTC, Error: no push for 1 h 1 min" in down
    assert "HTTP Code" not in down and "Retries" not in down


@pytest.mark.parametrize(
    "keys, key",
    [
        ({"token": "short"}, "token"),
        ({"token": TOKEN + "/../x"}, "token"),
        ({"token": TOKEN, "expect_every": "soon"}, "expect_every"),
    ],
)
def test_push_keys_are_checked_with_the_key_named(keys, key):
    with pytest.raises(ConfigError) as caught:
        make_monitor(name="Job", type="push", **{"expect_every": "1h", **keys})
    assert caught.value.key == key
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("raw, expected", [("99.9%", 99.9), ("99.95 %", 99.95), (99.5, 99.5)])
def test_sla_accepts_percentages(raw, expected):
    assert make_monitor(name="Site", url="http://127.0.0.1:9/", sla=raw).sla == expected


@pytest.mark.parametrize("raw", ["100%", "0%", "-1%", "ninety", True, "99.9%%"])
def test_sla_refuses_what_is_not_a_target(raw):
    with pytest.raises(ConfigError) as caught:
        make_monitor(name="Site", url="http://127.0.0.1:9/", sla=raw)
    assert caught.value.key == "sla"


async def test_a_sink_with_maintenance_notices_is_told_when_a_window_begins(target, tmp_path):
    from statuscore import load_config

    base, app = target
    app[SEQUENCES]["site"] = [200] * 4 + [503] * 4
    clock = FakeClock()
    start = clock.now()
    calendar = MaintenanceCalendar(
        [MaintenanceWindow("Deploy", start + timedelta(minutes=2), start + timedelta(minutes=4))]
    )
    slack = SlackShapedServer()
    async with slack.running() as hook:
        config_file = tmp_path / "monitors.toml"
        config_file.write_text(
            f'[[alert]]\ntype = "slack"\nwebhook_url = "{hook}"\nmaintenance_notices = true\n'
            f'[[monitor]]\nname = "Site"\nurl = "{base}/sequence/site"\nretries = 0\n'
        )
        config = load_config(str(config_file))
        scheduler = Scheduler(config.monitors, sinks=config.sinks, clock=clock, maintenance=calendar)
        await scheduler.run(duration=6 * 60)
    assert [m["text"].split(":")[0] for m in slack.messages] == ["🔧  Maintenance Started", "🔴  Service Down"]
    config_file.write_text(
        '[[alert]]\ntype = "slack"\nwebhook_url = "https://hooks.slack.example/x"\nmaintenance_notices = "yes"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(str(config_file))
    assert caught.value.key == "alert[0].maintenance_notices"
