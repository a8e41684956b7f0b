"""Group alerts: three services down within a minute make one message naming them all;
a lone outage is never delayed; PagerDuty keeps one incident per service."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from statuscore import MemoryStore, Status, TransitionKind
from statuscore.alerts.notifier import Notifier
from statuscore.alerts.slack import SlackConfig, SlackSink
from statuscore.model import CheckResult, Transition
from statuscore.session import new_session
from statuscore.testing import FakeClock
from tests.targets import SlackShapedServer

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def down(sink: SlackSink, name: str, at: datetime):
    result = CheckResult(monitor=name, slug=name.lower(), status=Status.DOWN, checked_at=at, latency=0.1,
                         status_code=503, error="HTTP 503")
    transition = Transition(monitor=name, slug=name.lower(), kind=TransitionKind.DOWN, previous=Status.UP,
                            current=Status.DOWN, at=at, since=at, duration=None, result=result)
    from statuscore.model import Alert

    return Alert(id=f"{name}:down:{at.isoformat()}:slack", sink="slack", monitor=name, kind="down",
                 payload=sink.render(transition), created_at=at)


async def test_three_down_within_a_minute_are_one_message_and_the_first_is_not_delayed():
    slack = SlackShapedServer()
    clock = FakeClock(start=T0)
    store = MemoryStore()
    async with slack.running() as hook:
        sink = SlackSink(SlackConfig(webhook_url=hook), instance_name="slack")
        session = new_session()
        notifier = Notifier(store, {"slack": sink}, session, clock)
        store.queue([down(sink, "Website", T0)])
        await notifier.deliver_due()
        assert [m["text"].split(" (")[0] for m in slack.messages] == ["🔴  Service Down: Website"]  # at once
        clock.advance(10)
        store.queue([down(sink, "Linker", clock.now())])
        wait = await notifier.deliver_due()
        assert len(slack.messages) == 1 and wait == 60  # held (at most a minute): a group may be forming
        clock.advance(15)
        store.queue([down(sink, "MCP", clock.now())])
        await notifier.deliver_due()
        assert len(slack.messages) == 2
        grouped = slack.messages[1]["text"]
        assert grouped.startswith("🔴  3 services down within a minute: Linker, MCP, Website")
        assert "already reported: Website" in grouped and "HTTP 503" in grouped
        assert not await store.pending_alerts(clock.now())
        # Much later, a lone outage goes out at once again; a second alone waits at most a minute.
        clock.advance(600)
        store.queue([down(sink, "Export", clock.now())])
        await notifier.deliver_due()
        clock.advance(5)
        store.queue([down(sink, "Search", clock.now())])
        await notifier.deliver_due()
        assert len(slack.messages) == 3
        clock.advance(60)
        await notifier.deliver_due()
        assert [m["text"].split(" (")[0] for m in slack.messages[2:]] == ["🔴  Service Down: Export",
                                                                            "🔴  Service Down: Search"]
        await session.close()


async def test_sinks_that_cannot_group_get_each_alert_at_once():
    from statuscore.alerts.base import AlertSink

    assert AlertSink.group(None, [], []) is None  # the default: one by one (PagerDuty keeps it)
    from statuscore.alerts.pagerduty import PagerDutySink

    assert PagerDutySink.group is AlertSink.group
