"""Alert messages (pure builders) and their delivery through real local receivers."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta

from statuscore import MemoryStore, MonitorState, Status, TransitionKind, advance, no_jitter
from statuscore.alerts.base import parse_retry_after
from statuscore.alerts.notifier import MAX_RETRY_DELAY, Notifier, retry_delay
from statuscore.alerts.slack import SlackConfig, SlackSink, render_slack_message
from statuscore.alerts.webhook import WebhookConfig, WebhookSink, render_webhook_payload
from statuscore.model import Alert
from statuscore.session import new_session
from statuscore.testing import FakeClock
from tests.statuscore.helpers import T0, monitor, result
from tests.targets import SlackShapedServer, serve_app


def went_down():
    mon = monitor()
    state, _ = advance(MonitorState(), result(Status.UP, 0), mon)
    _, transitions = advance(
        state, result(Status.DOWN, 1, code=503, error="HTTP 503 Service Unavailable", attempts=4), mon
    )
    return transitions[0]


def recovered():
    mon = monitor()
    state = MonitorState(status=Status.DOWN, since=T0)
    _, transitions = advance(state, result(Status.UP, 4), mon)
    return transitions[0]


def texts(payload):
    found = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [f["text"] for f in block.get("fields", [])]
        found += [e["text"] for e in block.get("elements", [])]
    return "\n".join(found)


def test_alert_uses_block_kit_with_text_fallback():
    payload = render_slack_message(went_down(), status_page_url="https://status.sefaria.org")
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "context"]
    assert payload["text"].startswith("🔴  Service Down: sefaria.org")


def test_down_alert_includes_service_code_error_since_retries_and_link():
    all_text = texts(render_slack_message(went_down(), status_page_url="https://status.sefaria.org"))
    for expected in (
        "sefaria.org",
        "*Status:*\nDOWN",
        "*HTTP Code:*\n503",
        "*Error:*\nHTTP 503 Service Unavailable",
        "*Since:*\n2026-02-08 14:24:00 UTC",
        "*Retries:*\n4/4 failed",
        "<https://status.sefaria.org|https://status.sefaria.org>",
    ):
        assert expected in all_text


def test_recovery_alert_has_downtime_and_response_time():
    payload = render_slack_message(recovered())
    all_text = texts(payload)
    assert payload["blocks"][0]["text"]["text"] == "🟢  Service Recovered: sefaria.org"
    assert "*Downtime:*\n~4 min" in all_text
    assert "*Response:*\n234ms" in all_text
    assert "*Recovered:*\n2026-02-08 14:27:00 UTC" in all_text


def test_channel_and_escaping():
    transition = went_down()
    payload = render_slack_message(transition, channel="#sefaria-down")
    assert payload["channel"] == "#sefaria-down"
    hostile = replace(transition, result=result(Status.DOWN, 1, error="<script>&</script>"))
    assert "&lt;script&gt;&amp;&lt;/script&gt;" in texts(render_slack_message(hostile))


def test_webhook_payload_is_flat_json():
    payload = render_webhook_payload(recovered(), status_page_url="https://s.test")
    assert payload["event"] == "recovered" and payload["status"] == "up"
    assert payload["previous"] == "down" and payload["duration_s"] == 240
    assert payload["latency_ms"] == 234 and payload["status_page_url"] == "https://s.test"


def test_retry_after_parsing():
    assert parse_retry_after("30") == 30
    assert (
        parse_retry_after(
            "Wed, 21 Oct 2015 07:28:00 GMT", now=T0.replace(year=2015, month=10, day=21, hour=7, minute=27)
        )
        == 60
    )
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def queued(sink_name: str, transition) -> Alert:
    return Alert(
        id=f"a:{transition.kind.value}",
        sink=sink_name,
        monitor=transition.monitor,
        kind=transition.kind.value,
        payload=render_slack_message(transition),
        created_at=transition.at,
    )


@asynccontextmanager
async def slack_notifier(slack: SlackShapedServer, *transitions):
    """A notifier with a fake clock whose store already holds alerts for `transitions`."""
    store = MemoryStore()
    store.queue([queued("slack", transition) for transition in transitions])
    async with slack.running() as url, new_session() as session:
        sink = SlackSink(SlackConfig(webhook_url=url), instance_name="slack")
        yield Notifier(store, {"slack": sink}, session, FakeClock(), jitter=no_jitter), store


async def test_slack_429_then_200_delivers_exactly_once():
    slack = SlackShapedServer()
    slack.fail_next(429, {"Retry-After": "7"})
    async with slack_notifier(slack, went_down()) as (notifier, store):
        assert await notifier.deliver_due() == 7.0  # Retry-After honoured over the 1 s backoff
        assert slack.messages == [] and len(store.alerts) == 1
        notifier.clock.advance(3)
        assert await notifier.deliver_due() == 4.0  # not due yet: nothing sent
        assert slack.requests == 1
        notifier.clock.advance(4)
        assert await notifier.deliver_due() is None
        assert await notifier.deliver_due() is None
    assert slack.requests == 2
    assert len(slack.messages) == 1
    assert slack.messages[0]["text"].startswith("🔴  Service Down")
    assert store.alerts == {} and list(store.delivered) == ["a:down"]


def test_retry_delays_are_jittered_under_an_exponential_ceiling_and_honour_retry_after():
    """backoff.expo(max_value=60) with full jitter: never above 1, 2, 4 ... 60 s, never
    under the receiver's Retry-After."""
    assert [retry_delay(n, None, no_jitter) for n in (1, 2, 3, 7, 8, 500)] == [1, 2, 4, 60, 60, 60]
    for attempts in range(1, 30):
        delays = [retry_delay(attempts, None) for _ in range(50)]
        assert all(0 <= d <= min(MAX_RETRY_DELAY, 2.0 ** (attempts - 1)) for d in delays)
        assert all(retry_delay(attempts, 90.0) == 90.0 for _ in range(5))
    assert len({retry_delay(6, None) for _ in range(20)}) > 1  # jittered, not in step


async def test_failing_sink_keeps_order_and_never_drops():
    slack = SlackShapedServer()
    for _ in range(3):
        slack.fail_next(500)
    async with slack_notifier(slack, went_down(), recovered()) as (notifier, _):
        delays = []
        for _ in range(4):
            delays.append(await notifier.deliver_due())
            notifier.clock.advance(delays[-1] or 0)
    assert delays == [1.0, 2.0, 4.0, None]
    assert [m["text"].split(":")[0] for m in slack.messages] == ["🔴  Service Down", "🟢  Service Recovered"]


async def test_alerts_queued_through_a_slack_outage_arrive_once_in_order_saying_they_are_late():
    """Slack fails for seven minutes while a service goes down, recovers and goes down
    again: once Slack is back (within a minute, since retries wait at most 60 s) every
    alert arrives exactly once, in order, and those over a minute old say so."""
    slack = SlackShapedServer()
    for _ in range(12):
        slack.fail_next(503)
    down, up = went_down(), recovered()
    again = replace(
        down, at=up.at + timedelta(minutes=1), result=replace(down.result, checked_at=up.at + timedelta(minutes=1))
    )
    async with slack_notifier(slack) as (notifier, store):
        notifier.clock = FakeClock(start=down.at)
        store.queue([queued("slack", down)])
        waits = []
        while slack.requests < 12:
            if notifier.clock.now() >= up.at and "a:recovered" not in store.alerts:
                store.queue([queued("slack", up)])
            if notifier.clock.now() >= again.at and len(store.alerts) == 2:
                store.queue(
                    [
                        Alert(
                            id="a:down-again",
                            sink="slack",
                            monitor=again.monitor,
                            kind="down",
                            payload=render_slack_message(again),
                            created_at=again.at,
                        )
                    ]
                )
            waits.append(await notifier.deliver_due())
            notifier.clock.advance(waits[-1])
        recovered_at = notifier.clock.now()
        while store.alerts:
            wait = await notifier.deliver_due()
            notifier.clock.advance(wait or 0)
    assert max(waits) == 60.0  # retry delays are capped at a minute
    assert (notifier.clock.now() - recovered_at).total_seconds() <= 60
    texts_sent = [message["text"] for message in slack.messages]
    assert [text.split(":")[0] for text in texts_sent] == [
        "🔴  Service Down",
        "🟢  Service Recovered",
        "🔴  Service Down",
    ]
    assert slack.requests == 12 + 3  # twelve refusals, then each alert once
    late_minutes = round((notifier.clock.now() - down.at).total_seconds() / 60)
    assert texts_sent[0].endswith(f"(sent {late_minutes} min late: Slack was unreachable)")
    context = slack.messages[0]["blocks"][-1]
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == f":hourglass: _sent {late_minutes} min late: Slack was unreachable_"
    print("\n".join(texts_sent))


async def test_an_alert_within_a_minute_is_not_marked_late():
    slack = SlackShapedServer()
    async with slack_notifier(slack, went_down()) as (notifier, _):
        notifier.clock = FakeClock(start=went_down().at + timedelta(seconds=59))
        await notifier.deliver_due()
    assert "late" not in slack.messages[0]["text"]
    assert slack.messages[0] == render_slack_message(went_down())


def test_webhook_payload_marked_late_keeps_its_fields():
    sink = WebhookSink(WebhookConfig(url="http://127.0.0.1:9/hook"), instance_name="hook")
    payload = render_webhook_payload(went_down())
    late = sink.mark_late(payload, "sent 3 min late: the webhook receiver was unreachable", 185)
    assert late == {**payload, "late_by_s": 185, "late": "sent 3 min late: the webhook receiver was unreachable"}


async def test_a_redirecting_webhook_never_puts_its_secret_url_in_a_log_or_the_outbox(caplog):
    """aiohttp's TooManyRedirects quotes the URL, and a Slack webhook's path is its token."""
    from aiohttp import web

    async def loop(request):
        raise web.HTTPFound(request.path)

    app = web.Application()
    app.router.add_route("*", "/services/T0SECRET/B0SECRET/XXXXSECRET", loop)
    store = MemoryStore()
    caplog.set_level("DEBUG")
    async with serve_app(app) as base, new_session() as session:
        url = f"{base}/services/T0SECRET/B0SECRET/XXXXSECRET"
        sinks = {
            "slack": SlackSink(SlackConfig(webhook_url=url), instance_name="slack"),
            "hook": WebhookSink(WebhookConfig(url=url.replace("http://", "http://user:pw@")), instance_name="hook"),
        }
        store.queue([queued("slack", went_down()), replace(queued("hook", went_down()), id="b:down")])
        await Notifier(store, sinks, session, FakeClock()).deliver_due()
    errors = [alert.last_error for alert in store.alerts.values()]
    assert len(errors) == 2 and all(errors)
    assert all("SECRET" not in error and "pw" not in error for error in errors), errors
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("statuscore", "slack")))
    assert "alert to slack for sefaria.org failed" in ours
    assert "SECRET" not in ours and "user:pw" not in ours
    print(errors)


async def test_unreachable_receiver_is_retried_later():
    clock = FakeClock()
    store = MemoryStore()
    sink = WebhookSink(WebhookConfig(url="http://127.0.0.1:9/hook"), instance_name="hook")
    async with new_session() as session:
        notifier = Notifier(store, {"hook": sink}, session, clock, jitter=no_jitter)
        store.queue([queued("hook", went_down())])
        assert await notifier.deliver_due() == 1.0
    alert = store.alerts["a:down"]
    assert alert.attempts == 1 and "ClientConnectorError" in alert.last_error
    assert alert.next_try == clock.now() + timedelta(seconds=1)


async def test_webhook_sink_posts_json_with_headers():
    from aiohttp import web

    received = []

    async def hook(request):
        received.append((request.headers["X-Token"], await request.json()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with serve_app(app) as base:
        sink = WebhookSink(WebhookConfig(url=f"{base}/hook", headers={"X-Token": "t"}), instance_name="hook")
        async with new_session() as session:
            delivery = await sink.deliver(sink.render(recovered()), session)
    assert delivery.ok
    assert received[0][0] == "t" and received[0][1]["event"] == TransitionKind.RECOVERED.value
