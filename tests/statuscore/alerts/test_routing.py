"""Alerts to the right people: per-monitor `alerts`, a signed webhook, and PagerDuty's
Events API v2, each against a real local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from aiohttp import web

from statuscore import ConfigError, MemoryStore, Scheduler, load_config
from statuscore.alerts.pagerduty import PagerDutyConfig, PagerDutySink
from statuscore.alerts.webhook import WebhookConfig, WebhookSink
from statuscore.testing import FakeClock, serve_app
from tests.targets import SEQUENCES

ROUTING_KEY = "R" * 32


class Receiver:
    """A local HTTP receiver that records every POST (body, headers) and answers `status`."""

    def __init__(self, path: str, status: int = 202) -> None:
        self.posts: list[tuple[bytes, dict[str, str]]] = []
        self.status = status
        self.app = web.Application()
        self.app.router.add_post(path, self._post)
        self.path = path

    async def _post(self, request: web.Request) -> web.Response:
        self.posts.append((await request.read(), dict(request.headers)))
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": "x"}, status=self.status
        )

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(body) for body, _ in self.posts]


def write(tmp_path, text: str) -> str:
    path = tmp_path / "monitors.toml"
    path.write_text(text)
    return str(path)


def test_a_monitor_names_its_sinks_and_a_wrong_name_fails_at_load(tmp_path):
    sinks = (
        '[[alert]]\nname = "ops"\ntype = "webhook"\nurl = "http://127.0.0.1:9/a"\n'
        '[[alert]]\nname = "pager"\ntype = "pagerduty"\nrouting_key = "${PD_KEY}"\n'
    )
    config = load_config(
        write(tmp_path, sinks + '[[monitor]]\nname = "A"\nurl = "https://a.test/"\nalerts = ["pager"]\n'),
        env={"PD_KEY": ROUTING_KEY},
    )
    assert config.monitors[0].alerts == ("pager",)
    assert [s.instance_name for s in config.sinks] == ["ops", "pager"]
    with pytest.raises(ConfigError) as error:
        load_config(
            write(tmp_path, sinks + '[[monitor]]\nname = "A"\nurl = "https://a.test/"\nalerts = ["pagr"]\n'),
            env={"PD_KEY": ROUTING_KEY},
        )
    assert str(error.value).endswith("monitor 'A': key 'alerts[0]': no [[alert]] is named 'pagr' (named: ops, pager)")
    off = load_config(
        write(tmp_path, sinks + '[[monitor]]\nname = "A"\nurl = "https://a.test/"\nalerts = ["pager"]\n'), env={}
    )
    assert [s.instance_name for s in off.sinks] == ["ops"]  # PD_KEY unset: that sink is off, not an error
    with pytest.raises(ConfigError, match="routing_key"):
        load_config(write(tmp_path, sinks), env={"PD_KEY": "short"})


async def test_each_monitor_alerts_only_the_sinks_it_names(target):
    base, app = target
    app[SEQUENCES]["site"] = [503]
    app[SEQUENCES]["api"] = [503]
    ops, pager = Receiver("/ops", 200), Receiver("/v2/enqueue")
    async with serve_app(ops.app) as ops_base, serve_app(pager.app) as pager_base:
        sinks = [
            WebhookSink(WebhookConfig(url=f"{ops_base}/ops"), instance_name="ops"),
            PagerDutySink(
                PagerDutyConfig(routing_key=ROUTING_KEY, url=f"{pager_base}/v2/enqueue"), instance_name="pager"
            ),
        ]
        from statuscore import make_monitor

        monitors = [
            make_monitor(name="Site", url=f"{base}/sequence/site", retries=0),
            make_monitor(name="API", url=f"{base}/sequence/api", retries=0, alerts=["pager"]),
        ]
        scheduler = Scheduler(monitors, sinks=sinks, store=MemoryStore(), clock=FakeClock())
        await scheduler.check_once()
        await scheduler.notifier.deliver_due()
        await scheduler.close()
    assert sorted(body["monitor"] for body in ops.bodies) == ["Site"]  # API routes to PagerDuty only
    assert sorted(body["dedup_key"] for body in pager.bodies) == ["statuscore/api", "statuscore/site"]


async def test_pagerduty_triggers_on_down_and_resolves_on_recovery_with_one_dedup_key(target):
    base, app = target
    app[SEQUENCES]["linker"] = [200, 503, 503, 200]
    pager = Receiver("/v2/enqueue")
    async with serve_app(pager.app) as pager_base:
        from statuscore import make_monitor

        sink = PagerDutySink(
            PagerDutyConfig(routing_key=ROUTING_KEY, url=f"{pager_base}/v2/enqueue"),
            instance_name="pagerduty",
            status_page_url="https://status.example.org",
        )
        monitor = make_monitor(name="Linker", url=f"{base}/sequence/linker", retries=0)
        store = MemoryStore()
        scheduler = Scheduler([monitor], sinks=[sink], store=store, clock=FakeClock())
        for _ in range(4):
            await scheduler.check_once()
            await scheduler.notifier.deliver_due()
        await scheduler.close()
    events = pager.bodies
    assert [e["event_action"] for e in events] == ["trigger", "resolve"]
    assert {e["dedup_key"] for e in events} == {"statuscore/linker"}
    assert all(e["routing_key"] == ROUTING_KEY for e in events)
    trigger = events[0]["payload"]
    assert trigger["summary"].startswith("Linker is down: HTTP 503")
    assert trigger["severity"] == "critical" and trigger["source"] == "Linker"
    assert events[0]["links"] == [{"href": "https://status.example.org", "text": "Status page"}]
    assert ROUTING_KEY not in repr(sink.config)


def test_the_routing_key_is_not_in_the_stored_alert():
    from statuscore.alerts.pagerduty import render_pagerduty_event
    from tests.statuscore.alerts.test_alerts import went_down

    event = render_pagerduty_event(went_down())
    assert "routing_key" not in event and event["event_action"] == "trigger"


async def test_a_signed_webhook_can_be_verified_by_its_receiver(target):
    base, app = target
    app[SEQUENCES]["site"] = [503]
    hook = Receiver("/hook", 200)
    secret = "s3cret-from-the-environment"
    async with serve_app(hook.app) as hook_base:
        from statuscore import make_monitor

        sink = WebhookSink(WebhookConfig(url=f"{hook_base}/hook", secret=secret), instance_name="hook")
        scheduler = Scheduler(
            [make_monitor(name="Site", url=f"{base}/sequence/site", retries=0)],
            sinks=[sink],
            store=MemoryStore(),
            clock=FakeClock(),
        )
        await scheduler.check_once()
        await scheduler.notifier.deliver_due()
        await scheduler.close()
    ((body, headers),) = hook.posts
    timestamp = headers["X-Statuscore-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Statuscore-Signature"] == f"sha256={expected}"
    assert json.loads(body)["event"] == "down"
    forged = hmac.new(b"wrong", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Statuscore-Signature"] != f"sha256={forged}"
    assert secret not in repr(sink.config)
