"""The Apprise sink against real local receivers on 127.0.0.1: Apprise's own json:// and
form://, and servers shaped like ntfy and Mattermost, reached through the scheduler and
the notifier as every alert is (order, retries, lateness, the outbox)."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from aiohttp import web

from statuscore import ConfigError, MemoryStore, load_config
from statuscore.alerts.apprise_sink import AppriseConfig, AppriseSink, render_apprise_message
from statuscore.testing import FakeClock, serve_app
from tests.statuscore.alerts.test_alerts import recovered, went_down
from tests.statuscore.helpers import sequence_scheduler
from tests.targets import SEQUENCES

TOKEN = "s3cr3t-t0ken-4a7f"


class Receivers:
    """One local server with Apprise's json:// and form:// paths, ntfy's POST / and
    Mattermost's /hooks/<token>; it keeps what each got and can fail or stall on cue."""

    def __init__(self) -> None:
        self.got: dict[str, list[dict]] = {"json": [], "form": [], "ntfy": [], "mattermost": []}
        self.fail: dict[str, int] = {}
        self.stall = asyncio.Event()
        self.stalling = False
        self.app = web.Application()
        self.app.router.add_post("/json/{token}", self._json)
        self.app.router.add_post("/form", self._form)
        self.app.router.add_post("/", self._ntfy)
        self.app.router.add_post("/hooks/{token}", self._mattermost)

    async def _answer(self, kind: str, payload: dict) -> web.Response:
        if self.stalling:
            await self.stall.wait()
        if self.fail.get(kind):
            self.fail[kind] -= 1
            return web.json_response({"error": "down for a moment"}, status=503)
        self.got[kind].append(payload)
        return web.json_response({"ok": True})

    async def _json(self, request: web.Request) -> web.Response:
        return await self._answer("json", {**await request.json(), "token": request.match_info["token"]})

    async def _form(self, request: web.Request) -> web.Response:
        return await self._answer("form", dict(await request.post()))

    async def _ntfy(self, request: web.Request) -> web.Response:
        return await self._answer("ntfy", await request.json())

    async def _mattermost(self, request: web.Request) -> web.Response:
        return await self._answer("mattermost", {**await request.json(), "token": request.match_info["token"]})


def write_config(tmp_path, urls: str, extra: str = "") -> str:
    path = tmp_path / "monitors.toml"
    path.write_text(f'[[alert]]\nname = "chat"\ntype = "apprise"\nurls = [{urls}]\n{extra}')
    return str(path)


async def run_outage(sink, base: str, app, clock: FakeClock, store: MemoryStore, *, deliver_rounds: int = 1):
    """The site goes down, then comes back; the notifier delivers after each check."""
    app[SEQUENCES]["Site"] = [503, 200]
    scheduler = sequence_scheduler(base, sink, "Site", clock=clock, store=store)
    try:
        for _ in range(2):
            await scheduler.check_once()
            for _ in range(deliver_rounds):
                clock.advance(await scheduler.notifier.deliver_due() or 0)
    finally:
        await scheduler.close()


async def test_a_down_and_its_recovery_reach_json_form_ntfy_and_mattermost_in_order(target, tmp_path):
    base, app = target
    receivers = Receivers()
    async with serve_app(receivers.app) as hub:
        host = hub.removeprefix("http://")
        urls = ", ".join(
            f'"${{{name}}}"' for name in ("APPRISE_JSON", "APPRISE_FORM", "APPRISE_NTFY", "APPRISE_MATTERMOST")
        )
        env = {
            "APPRISE_JSON": f"json://{host}/json/{TOKEN}",
            "APPRISE_FORM": f"form://{host}/form",
            "APPRISE_NTFY": f"ntfy://{host}/alerts",
            "APPRISE_MATTERMOST": f"mmost://{host}/{TOKEN}",
        }
        config = load_config(write_config(tmp_path, urls, "allow_private = true\n"), env=env)
        (sink,) = config.sinks
        assert TOKEN not in repr(sink.config)
        store = MemoryStore()
        await run_outage(sink, base, app, FakeClock(), store)
    assert store.alerts == {} and len(store.delivered) == 2
    assert [m["title"] for m in receivers.got["json"]] == ["🔴  Service Down: Site", "🟢  Service Recovered: Site"]
    assert [m["type"] for m in receivers.got["json"]] == ["failure", "success"]
    assert "Error: HTTP 503" in receivers.got["json"][0]["message"]
    assert receivers.got["json"][0]["token"] == TOKEN
    assert [m["title"] for m in receivers.got["form"]] == ["🔴  Service Down: Site", "🟢  Service Recovered: Site"]
    assert [m["topic"] for m in receivers.got["ntfy"]] == ["alerts", "alerts"]
    assert receivers.got["ntfy"][1]["title"] == "🟢  Service Recovered: Site"
    assert [m["text"].split("\r\n")[0] for m in receivers.got["mattermost"]] == [
        "🔴  Service Down: Site",
        "🟢  Service Recovered: Site",
    ]


async def test_a_failing_url_is_retried_alone_and_the_others_are_told_once(target, caplog):
    base, app = target
    receivers = Receivers()
    receivers.fail["mattermost"] = 2
    caplog.set_level(logging.DEBUG)
    async with serve_app(receivers.app) as hub:
        host = hub.removeprefix("http://")
        sink = AppriseSink(
            AppriseConfig(urls=(f"json://{host}/json/{TOKEN}", f"mmost://{host}/{TOKEN}"), allow_private=True),
            instance_name="chat",
        )
        store = MemoryStore()
        clock = FakeClock()
        app[SEQUENCES]["Site"] = [503]
        scheduler = sequence_scheduler(base, sink, "Site", clock=clock, store=store)
        try:
            await scheduler.check_once()
            assert await scheduler.notifier.deliver_due() == 1.0
            (alert,) = store.alerts.values()
            assert alert.last_error.startswith("urls[1] (mmost): ")
            clock.advance(1)
            assert await scheduler.notifier.deliver_due() == 2.0
            clock.advance(2)
            assert await scheduler.notifier.deliver_due() is None
        finally:
            await scheduler.close()
    assert len(receivers.got["json"]) == 1, "the URL that had it is not told again"
    assert len(receivers.got["mattermost"]) == 1 and store.alerts == {}
    ours = [r.getMessage() for r in caplog.records if r.name != "aiohttp.access"]  # not the receiver's log
    assert ours and not [line for line in ours if TOKEN in line]
    assert TOKEN not in repr(store.delivered) + alert.last_error


async def test_a_receiver_that_never_answers_is_a_retry_within_the_timeout_not_a_stuck_notifier():
    receivers = Receivers()
    receivers.stalling = True
    async with serve_app(receivers.app) as hub:
        host = hub.removeprefix("http://")
        sink = AppriseSink(
            AppriseConfig(urls=(f"json://{host}/json/{TOKEN}",), allow_private=True, timeout=1.0), instance_name="chat"
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        delivery = await sink.send(sink.render(went_down()), None, idempotency_key="a")  # type: ignore[arg-type]
        receivers.stall.set()
    assert not delivery.ok and loop.time() - started < 3.5
    assert "urls[0] (json)" in delivery.error and TOKEN not in delivery.error


def test_urls_are_checked_at_load_and_never_shown(tmp_path):
    path = write_config(tmp_path, '"${APPRISE_URL}"')
    for url, key, said in (
        (f"json://127.0.0.1:9/{TOKEN}", "alert[0].urls[0]", "private network"),
        (f"json://localhost/{TOKEN}", "alert[0].urls[0]", "private network"),
        (f"json://[::1]/{TOKEN}", "alert[0].urls[0]", "private network"),
        (f"nosuchservice://{TOKEN}@example.org/", "alert[0].urls[0]", "does not understand this nosuchservice://"),
        (f"json://example.org/{TOKEN}\r\nX: y", "alert[0].urls[0]", "control character"),
    ):
        with pytest.raises(ConfigError) as caught:
            load_config(path, env={"APPRISE_URL": url})
        assert caught.value.key == key and said in caught.value.message, str(caught.value)
        assert TOKEN not in str(caught.value)
    path = write_config(tmp_path, "")
    with pytest.raises(ConfigError, match="expected a list of Apprise URLs"):
        load_config(path, env={})
    # an unset secret switches the sink off, as for every sink
    config = load_config(write_config(tmp_path, '"${APPRISE_URL}"'), env={})
    assert config.sinks == () and "'chat' is off" in config.warnings[0]
    # a service's fixed address (Discord's) is not a host of ours to check
    config = load_config(
        path=write_config(tmp_path, '"${APPRISE_URL}"'), env={"APPRISE_URL": f"discord://1234/{TOKEN}"}
    )
    assert TOKEN not in repr(config.sinks[0].config)


async def test_a_name_that_resolves_into_a_private_network_is_refused_at_send():
    """DNS, not the URL's spelling, decides: this machine's own name is not public."""
    own = socket.gethostname()
    sink = AppriseSink(AppriseConfig(urls=(f"json://{own}:9/{TOKEN}",)), instance_name="chat")
    delivery = await sink.send(sink.render(went_down()), None, idempotency_key="a")  # type: ignore[arg-type]
    assert not delivery.ok
    assert "private network" in delivery.error or "does not resolve" in delivery.error
    assert "allow_private = true" in delivery.error


def test_the_message_late_noted_and_grouped():
    down = render_apprise_message(went_down(), status_page_url="https://status.example.org")
    assert down["title"] == "🔴  Service Down: sefaria.org" and down["type"] == "failure"
    assert down["body"].splitlines()[0] == "Status: DOWN"
    assert down["body"].endswith("Status page: https://status.example.org")
    assert render_apprise_message(recovered())["type"] == "success"
    sink = AppriseSink(AppriseConfig(urls=("discord://1/2",)), instance_name="chat")
    assert sink.mark_late(down, "sent 3 min late: Apprise was unreachable", 180)["body"].endswith(
        "⌛ sent 3 min late: Apprise was unreachable"
    )
