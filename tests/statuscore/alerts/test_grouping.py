"""Group alerts: three services down within a minute make one message naming them all;
the first DOWN of an episode is never delayed, a later one waits at most `group_wait`;
a monitor is never its own companion and never waits behind another monitor; PagerDuty
keeps one incident per service. Against a local Slack-shaped receiver."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from statuscore import ConfigError, MemoryStore, Status, TransitionKind, load_config, no_jitter
from statuscore.alerts.grouping import GroupPolicy
from statuscore.alerts.notifier import Notifier
from statuscore.alerts.slack import SlackConfig, SlackSink
from statuscore.model import Alert, CheckResult, Transition
from statuscore.session import new_session
from statuscore.testing import FakeClock
from tests.targets import SlackShapedServer

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def alert(sink: SlackSink, name: str, at: datetime, kind: TransitionKind = TransitionKind.DOWN) -> Alert:
    down = kind is TransitionKind.DOWN
    result = CheckResult(
        monitor=name,
        slug=name.lower(),
        status=Status.DOWN if down else Status.UP,
        checked_at=at,
        latency=0.1,
        status_code=503 if down else 200,
        error="HTTP 503" if down else None,
    )
    transition = Transition(
        monitor=name,
        slug=name.lower(),
        kind=kind,
        previous=Status.UP if down else Status.DOWN,
        current=result.status,
        at=at,
        since=at,
        duration=None if down else 30.0,
        result=result,
    )
    return Alert(
        id=f"{name}:{kind.value}:{at.isoformat()}:slack",
        sink="slack",
        monitor=name,
        kind=kind.value,
        payload=sink.render(transition),
        created_at=at,
    )


def titles(slack: SlackShapedServer) -> list[str]:
    return [m["text"].split(" (")[0].split("\n")[0] for m in slack.messages]


@asynccontextmanager
async def slack_notifier(slack: SlackShapedServer, **policy: float):
    clock = FakeClock(start=T0)
    store = MemoryStore()
    async with slack.running() as hook, new_session() as session:
        sink = SlackSink(SlackConfig(webhook_url=hook), instance_name="slack")
        sink.grouping = GroupPolicy(**policy)
        yield Notifier(store, {"slack": sink}, session, clock, jitter=no_jitter), store, sink, clock


async def test_three_down_within_a_minute_are_one_message_and_the_first_is_not_delayed():
    slack = SlackShapedServer()
    async with slack_notifier(slack) as (notifier, store, sink, clock):
        store.queue([alert(sink, "Website", T0)])
        await notifier.deliver_due()
        assert titles(slack) == ["🔴  Service Down: Website"]  # at once
        clock.advance(10)
        store.queue([alert(sink, "Linker", clock.now())])
        assert await notifier.deliver_due() == 10  # held at most group_wait: a group may be forming
        clock.advance(5)
        store.queue([alert(sink, "MCP", clock.now())])
        assert await notifier.deliver_due() == 5
        assert len(slack.messages) == 1
        clock.advance(5)
        assert await notifier.deliver_due() is None
        grouped = slack.messages[1]["text"]
        assert grouped.startswith("🔴  3 services down within a minute: Linker, MCP, Website")
        assert "already reported: Website" in grouped and "HTTP 503" in grouped
        assert not await store.pending_alerts(clock.now())
        # Much later, a lone outage goes out at once again; a second alone waits group_wait.
        clock.advance(600)
        store.queue([alert(sink, "Export", clock.now())])
        await notifier.deliver_due()
        clock.advance(5)
        store.queue([alert(sink, "Search", clock.now())])
        assert await notifier.deliver_due() == 10
        clock.advance(10)
        await notifier.deliver_due()
        assert titles(slack)[2:] == ["🔴  Service Down: Export", "🔴  Service Down: Search"]


async def test_five_monitors_behind_one_server_make_two_messages_the_first_at_once():
    """One server stops behind five monitors checked a second or two apart: Slack gets
    the first DOWN at once and one message naming the other four."""
    slack = SlackShapedServer()
    names = ["Website", "Linker", "MCP", "Export", "Search"]
    async with slack_notifier(slack) as (notifier, store, sink, clock):
        for name in names:
            store.queue([alert(sink, name, clock.now())])
            await notifier.deliver_due()
            clock.advance(1.5)
        while await store.pending_alerts(clock.now()):
            clock.advance(await notifier.deliver_due() or 0)
        assert clock.now() - T0 == timedelta(seconds=1.5 + 10)  # Linker, the second, waited group_wait
    assert len(slack.messages) == 2
    assert titles(slack)[0] == "🔴  Service Down: Website"
    assert titles(slack)[1] == "🔴  5 services down within a minute: Linker, MCP, Export, Search, Website"


async def test_one_service_flipping_is_never_grouped_with_itself_and_keeps_its_order():
    """Down, up, down, up within seconds while Slack answers 500: four messages, in
    order, each its own; the second DOWN is not held for its own first as a companion."""
    slack = SlackShapedServer()
    for _ in range(3):
        slack.fail_next(500)
    async with slack_notifier(slack) as (notifier, store, sink, clock):
        for step, kind in enumerate([TransitionKind.DOWN, TransitionKind.RECOVERED] * 2):
            store.queue([alert(sink, "Mcp", T0 + timedelta(seconds=2 * step), kind)])
            clock.advance(2)
            await notifier.deliver_due()
        for _ in range(20):
            wait = await notifier.deliver_due()
            if wait is None:
                break
            clock.advance(wait)
    assert titles(slack) == ["🔴  Service Down: Mcp", "🟢  Service Recovered: Mcp"] * 2
    assert not any("services down" in text for text in titles(slack))


async def test_a_lone_service_going_down_again_is_not_held():
    slack = SlackShapedServer()
    async with slack_notifier(slack) as (notifier, store, sink, clock):
        store.queue([alert(sink, "Mcp", T0)])
        await notifier.deliver_due()
        clock.advance(3)
        store.queue([alert(sink, "Mcp", clock.now(), TransitionKind.RECOVERED)])
        await notifier.deliver_due()
        clock.advance(3)
        store.queue([alert(sink, "Mcp", clock.now())])
        assert await notifier.deliver_due() is None
    assert titles(slack) == ["🔴  Service Down: Mcp", "🟢  Service Recovered: Mcp", "🔴  Service Down: Mcp"]


async def test_a_held_down_never_delays_another_monitors_alerts():
    slack = SlackShapedServer()
    async with slack_notifier(slack) as (notifier, store, sink, clock):
        store.queue([alert(sink, "Website", T0)])
        await notifier.deliver_due()
        clock.advance(1)
        store.queue([alert(sink, "Linker", clock.now()), alert(sink, "Export", clock.now(), TransitionKind.RECOVERED)])
        assert await notifier.deliver_due() == 10  # Linker held; Export's recovery went by
        assert titles(slack) == ["🔴  Service Down: Website", "🟢  Service Recovered: Export"]


async def test_a_recovered_monitor_is_not_named_as_already_reported():
    slack = SlackShapedServer()
    async with slack_notifier(slack) as (notifier, store, sink, clock):
        store.queue([alert(sink, "Website", T0)])
        await notifier.deliver_due()
        clock.advance(2)
        store.queue([alert(sink, "Website", clock.now(), TransitionKind.RECOVERED)])
        await notifier.deliver_due()
        store.queue([alert(sink, "Linker", clock.now()), alert(sink, "MCP", clock.now())])
        await notifier.deliver_due()
        while await store.pending_alerts(clock.now()):
            clock.advance(await notifier.deliver_due() or 0)
    assert "Website" not in " ".join(titles(slack)[2:])
    assert titles(slack)[2:] == ["🔴  Service Down: Linker", "🔴  Service Down: MCP"]


async def test_group_wait_and_window_are_keys_of_an_alert_table(tmp_path):
    path = tmp_path / "monitors.toml"
    path.write_text(
        '[[alert]]\ntype = "webhook"\nurl = "http://127.0.0.1:9/h"\ngroup_wait = "3s"\ngroup_window = "2m"\n'
    )
    (sink,) = load_config(str(path)).sinks
    assert sink.grouping == GroupPolicy(group_wait=3.0, group_window=120.0)
    for bad, message in [
        ('group_wait = "soon"', r"key 'alert\[0\]\.group_wait'"),
        ('group_wait = "5m"', "must not be longer than group_window"),
        ("group_window = -1", r"key 'alert\[0\]\.group_window'"),
    ]:
        path.write_text(f'[[alert]]\ntype = "webhook"\nurl = "http://127.0.0.1:9/h"\n{bad}\n')
        with pytest.raises(ConfigError, match=message) as error:
            load_config(str(path))
        assert str(path) in str(error.value)


async def test_sinks_that_cannot_group_get_each_alert_at_once():
    from statuscore.alerts.base import AlertSink
    from statuscore.alerts.pagerduty import PagerDutySink

    assert AlertSink.group(None, [], []) is None  # the default: one by one (PagerDuty keeps it)
    assert PagerDutySink.group is AlertSink.group
